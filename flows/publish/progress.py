"""How far a publish got: the acknowledged prefix of a run's message stream.

A publish sends in windows (``flows.publish.kafka``); after every window whose messages
were all acknowledged, ``state/publish-progress/<run_id>/<first message id>.json``
records how many messages of the stream (in its fixed order, read from immutable output
files) are acknowledged, per topic, and the id of the last one. A retried publish of the
same stream skips that prefix instead of sending it again, after checking the id at its
end is the same (otherwise the stream changed: the progress is discarded and the publish
fails, so the next one sends everything). The file goes when the delivery is recorded in
the ledger.

So a message is sent more than once only when a window failed part-way (at-least-once
on the wire); consumers de-duplicate by ``message_id`` (exactly-once per id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flows import layout
from flows.lake import Lake

PROGRESS_PREFIX = "state/publish-progress"


@dataclass
class Progress:
    """The acknowledged prefix of one message stream (nothing kept without a lake)."""

    lake: Lake | None
    key: str
    target: str
    acknowledged: int = 0
    last_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # acknowledged per (run|topic)

    @classmethod
    def load(cls, lake: Lake | None, run_id: str, first_id: str, target: str) -> Progress:
        key = f"{PROGRESS_PREFIX}/{run_id}/{first_id}.json"
        progress = cls(lake, key, target)
        if lake is None or not lake.exists(key):
            return progress
        state = json.loads(lake.read_bytes(key))
        if state.get("target") != target:
            return progress  # acknowledged by another target: says nothing about this one
        progress.acknowledged = int(state["acknowledged"])
        progress.last_id, progress.counts = state["last_id"], dict(state["counts"])
        return progress

    def advance(self, last_id: str, counts: dict[tuple[str, str], int], sent: int) -> None:
        """A window of ``sent`` messages, ending with ``last_id``, was all acknowledged."""
        self.acknowledged += sent
        self.last_id = last_id
        for (run_id, topic), count in counts.items():
            name = f"{run_id}|{topic}"
            self.counts[name] = self.counts.get(name, 0) + count
        if self.lake is not None:
            state = {
                "target": self.target,
                "acknowledged": self.acknowledged,
                "last_id": self.last_id,
                "counts": self.counts,
            }
            layout.write_bytes_atomically(self.lake, self.key, json.dumps(state).encode())

    def acknowledged_counts(self) -> dict[tuple[str, str], int]:
        pairs = {name: name.split("|", 1) for name in self.counts}
        return {(pairs[name][0], pairs[name][1]): n for name, n in self.counts.items()}

    def clear(self) -> None:
        if self.lake is not None and self.lake.exists(self.key):
            self.lake.delete(self.key)
