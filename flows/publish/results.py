"""Reading a results topic back as a consumer should: one record per ``message_id``.

Delivery is at-least-once on the wire (a publish retried after a partial failure may
send a message again; Kafka keeps both copies) and exactly-once per ``message_id``: an
id is a UUID5 of the message kind, run and record, so a copy has the same id and
:func:`distinct` drops it. ``raw=True`` shows the records as stored, copies included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flows.lake import Lake
from flows.publish.envelope import Topics
from flows.publish.publisher import LEDGER_PREFIX, Publisher


class UnknownTopic(ValueError):
    """The topic is not one of the configured results topics."""


def check_topic(topic: str, topics: Topics) -> str:
    names = [topics.potential, topics.prospects, topics.model_metrics, topics.reports]
    if topic not in names:
        raise UnknownTopic(f"{topic!r} is not a results topic; the topics are {', '.join(names)}")
    return topic


def newest_run(lake: Lake, topic: str) -> str | None:
    """The run most recently delivered to ``topic``, from the delivery ledger."""
    newest: tuple[str, str] | None = None
    for obj in lake.list(LEDGER_PREFIX):
        if not obj.key.endswith(f"/{topic}.json"):
            continue
        entry = json.loads(lake.read_bytes(obj.key))
        stamp = (entry.get("delivered_at", ""), entry["run_id"])
        newest = max(newest, stamp) if newest else stamp
    return newest[1] if newest else None


def distinct(envelopes: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The first record of each ``message_id`` (later copies are re-sends)."""
    seen: set[object] = set()
    for envelope in envelopes:
        message_id = envelope.get("message_id")
        if message_id in seen:
            continue
        seen.add(message_id)
        yield envelope


def read_results(
    publisher: Publisher,
    topic: str,
    run_id: str | None = None,
    limit: int | None = None,
    raw: bool = False,
) -> Iterator[dict[str, Any]]:
    """The envelopes of ``topic`` (of ``run_id``, or every run when None), de-duplicated
    by message id unless ``raw``; at most ``limit``."""
    envelopes = publisher.read(topic, run_id=run_id, limit=limit if raw else None)
    if not raw:
        envelopes = distinct(envelopes)
    for produced, envelope in enumerate(envelopes):
        if limit is not None and produced >= limit:
            return
        yield envelope
