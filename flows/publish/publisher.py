"""Where results go: a publisher protocol and the delivery ledger (the factory that picks
Kafka or the outbox from the settings is ``flows.publish.factory``).

Two publishers share one contract: ``publish(messages) -> {topic: count}`` returns only
when every message is durably accepted (Kafka: acknowledged by all in-sync replicas;
outbox: the JSON-lines object is written) and raises PublishError otherwise. Only then
does the ledger record the delivery, under ``state/publish/<run_id>/<topic>.json``:
nothing is ever recorded as delivered that was not acknowledged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from flows import layout
from flows.contracts import DeliveryEntry
from flows.lake import Lake
from flows.publish.envelope import Message, utc_now

LEDGER_PREFIX = layout.PUBLISH_LEDGER_PREFIX


class PublishError(RuntimeError):
    """Some messages were not delivered; the message says how many and why."""


class Publisher(Protocol):
    """Sends validated messages; returns the number delivered per topic."""

    target: str

    def publish(self, messages: Iterable[Message]) -> dict[str, int]: ...

    def read(
        self, topic: str, run_id: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]: ...


class DeliveryLedger:
    """What was delivered, per run and topic, in the lake's ``state/`` zone."""

    def __init__(self, lake: Lake):
        self.lake = lake

    def key(self, run_id: str, topic: str) -> str:
        return layout.publish_ledger_key(run_id, topic)

    def record(self, target: str, counts: dict[tuple[str, str], int]) -> None:
        """``counts``: ``{(run_id, topic): acknowledged messages}``."""
        delivered_at = utc_now()
        for (run_id, topic), count in counts.items():
            entry = DeliveryEntry(
                run_id=run_id,
                topic=topic,
                messages=count,
                target=target,
                delivered_at=delivered_at,
            )
            data = entry.model_dump_json(indent=2).encode()
            layout.write_bytes_atomically(self.lake, self.key(run_id, topic), data)

    def deliveries(self, run_id: str) -> dict[str, DeliveryEntry]:
        """``{topic: entry}`` of a run (empty when nothing was delivered)."""
        entries = {}
        for obj in self.lake.list(layout.publish_ledger_prefix(run_id)):
            if obj.key.rsplit("/", 1)[-1].startswith("_"):  # a temporary key
                continue
            entry = DeliveryEntry.model_validate_json(self.lake.read_bytes(obj.key))
            entries[entry.topic] = entry
        return entries


def record_delivery(
    ledger: DeliveryLedger | None, target: str, counts: dict[tuple[str, str], int]
) -> dict[str, int]:
    """Record acknowledged ``{(run_id, topic): messages}`` in the ledger (when there is
    one) and return the messages per topic: how every publisher ends a publish."""
    if ledger is not None:
        ledger.record(target, counts)
    totals: dict[str, int] = {}
    for (_, topic), count in counts.items():
        totals[topic] = totals.get(topic, 0) + count
    return totals
