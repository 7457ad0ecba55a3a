"""The embedded publisher: a JSON-lines outbox in the lake (no ``BIGD_KAFKA_BOOTSTRAP``).

``outbox/<topic>/<run_id>.jsonl`` holds one envelope per line, exactly what Kafka would
carry. One object per topic and run, written whole: publishing a run again replaces its
objects instead of appending duplicates, so re-publishing is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from flows import layout
from flows.lake import Lake
from flows.publish.envelope import Message
from flows.publish.publisher import DeliveryLedger, record_delivery

OUTBOX_PREFIX = "outbox"


class OutboxPublisher:
    """Writes messages to ``outbox/<topic>/<run_id>.jsonl`` in the lake."""

    def __init__(self, lake: Lake, ledger: DeliveryLedger | None = None):
        self.lake = lake
        self.ledger = ledger or DeliveryLedger(lake)
        self.target = f"outbox {lake.uri(OUTBOX_PREFIX)}"

    def key(self, topic: str, run_id: str) -> str:
        return f"{OUTBOX_PREFIX}/{topic}/{run_id}.jsonl"

    def publish(self, messages: Iterable[Message]) -> dict[str, int]:
        lines: dict[tuple[str, str], list[bytes]] = {}
        for message in messages:
            lines.setdefault((message.envelope["run_id"], message.topic), []).append(message.value)
        for (run_id, topic), values in lines.items():
            data = b"\n".join(values) + b"\n"  # a killed run leaves the old file or the new
            layout.write_bytes_atomically(self.lake, self.key(topic, run_id), data)
        counts = {run_topic: len(values) for run_topic, values in lines.items()}
        return record_delivery(self.ledger, self.target, counts)

    def read(
        self, topic: str, run_id: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The envelopes of a topic (one run, or every run in key order)."""
        if run_id is not None:
            keys = [self.key(topic, run_id)] if self.lake.exists(self.key(topic, run_id)) else []
        else:
            listed = self.lake.list(f"{OUTBOX_PREFIX}/{topic}")
            keys = [obj.key for obj in listed if obj.key.endswith(".jsonl")]  # not _tmp- files
        produced = 0
        for key in keys:
            for line in self.lake.read_bytes(key).splitlines():
                if limit is not None and produced >= limit:
                    return
                if line.strip():
                    produced += 1
                    yield json.loads(line)
