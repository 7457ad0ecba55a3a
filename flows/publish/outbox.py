"""The embedded publisher: a JSON-lines outbox in the lake (no ``BIGD_KAFKA_BOOTSTRAP``).

``outbox/<topic>/<run_id>.jsonl`` holds one envelope per line, exactly what Kafka would
carry. One object per topic and run, streamed to a temporary key beside it
(``_tmp-<uuid>-<run_id>.jsonl``) and moved over it when complete: publishing a run again
replaces its objects instead of appending duplicates, so re-publishing is idempotent,
and memory holds one line at a time, not the run.

A publish killed mid-write (``kill -9``) leaves its temporary object behind: readers
never read a key whose name starts with ``_``, and the next publish of that run and
topic removes the ones left over.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import IO, Any

from flows import layout
from flows.lake import Lake
from flows.publish.envelope import Message
from flows.publish.publisher import DeliveryLedger, record_delivery

OUTBOX_PREFIX = "outbox"


def _is_temporary(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith("_")


class OutboxPublisher:
    """Writes messages to ``outbox/<topic>/<run_id>.jsonl`` in the lake."""

    def __init__(self, lake: Lake, ledger: DeliveryLedger | None = None):
        self.lake = lake
        self.ledger = ledger or DeliveryLedger(lake)
        self.target = f"outbox {lake.uri(OUTBOX_PREFIX)}"

    def key(self, topic: str, run_id: str) -> str:
        return f"{OUTBOX_PREFIX}/{topic}/{run_id}.jsonl"

    def remove_leftovers(self, topic: str, run_id: str) -> list[str]:
        """Delete the temporary objects a killed publish of ``run_id`` to ``topic`` left."""
        suffix = f"-{run_id}.jsonl"
        stale = [
            obj.key
            for obj in self.lake.list(f"{OUTBOX_PREFIX}/{topic}")
            if obj.key.rsplit("/", 1)[-1].startswith("_tmp-") and obj.key.endswith(suffix)
        ]
        for key in stale:
            self.lake.delete(key)
        return stale

    def publish(self, messages: Iterable[Message]) -> dict[str, int]:
        """Stream every message to its (run, topic) temporary object, then move each in."""
        counts: dict[tuple[str, str], int] = {}
        open_objects: dict[tuple[str, str], tuple[str, IO[bytes]]] = {}
        with ExitStack() as stack:
            try:
                for message in messages:
                    run_topic = (message.envelope["run_id"], message.topic)
                    if run_topic not in open_objects:
                        self.remove_leftovers(message.topic, run_topic[0])
                        temporary = layout.temporary_key(self.key(message.topic, run_topic[0]))
                        sink = stack.enter_context(self.lake.open_output(temporary))
                        open_objects[run_topic] = (temporary, sink)
                    open_objects[run_topic][1].write(message.value + b"\n")
                    counts[run_topic] = counts.get(run_topic, 0) + 1
            except BaseException:
                stack.close()  # a failed build (an invalid message): nothing is moved in
                for temporary, _ in open_objects.values():
                    if self.lake.exists(temporary):
                        self.lake.delete(temporary)
                raise
        for (run_id, topic), (temporary, _) in open_objects.items():
            self.lake.move(temporary, self.key(topic, run_id))  # the old object or the new
        return record_delivery(self.ledger, self.target, counts)

    def runs(self, topic: str) -> list[str]:
        """The runs with a complete object in ``topic``."""
        listed = self.lake.list(f"{OUTBOX_PREFIX}/{topic}")
        names = [obj.key.rsplit("/", 1)[-1] for obj in listed if not _is_temporary(obj.key)]
        return [name.removesuffix(".jsonl") for name in names if name.endswith(".jsonl")]

    def read(
        self, topic: str, run_id: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The envelopes of a topic (one run, or every run in key order), never from a
        temporary object."""
        runs = self.runs(topic) if run_id is None else [run_id]
        keys = [self.key(topic, run) for run in runs if self.lake.exists(self.key(topic, run))]
        produced = 0
        for key in keys:
            with self.lake.filesystem.open_input_stream(self.lake.path(key)) as source:
                for line in _lines(source):
                    if limit is not None and produced >= limit:
                        return
                    if line.strip():
                        produced += 1
                        yield json.loads(line)


def _lines(source) -> Iterator[bytes]:
    """The lines of a stream, read a block at a time."""
    rest = b""
    while block := source.read(1 << 20):
        rest += block
        *lines, rest = rest.split(b"\n")
        yield from lines
    if rest:
        yield rest
