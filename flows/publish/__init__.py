"""Results to Kafka topics (or the lake's JSON-lines outbox), one JSON Schema per topic.

The names below are imported on first use (PEP 562): a sending worker process
(``flows.publish.parallel``) imports this package too, and needs only kafka-python, not
Arrow and the message builders (about 0.4 s of CPU per worker start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_HOMES = {
    "KINDS": "flows.publish.envelope",
    "InvalidMessage": "flows.publish.envelope",
    "Message": "flows.publish.envelope",
    "Topics": "flows.publish.envelope",
    "message_id": "flows.publish.envelope",
    "validate": "flows.publish.envelope",
    "AnalysisOutputs": "flows.publish.messages",
    "report_message": "flows.publish.messages",
    "run_messages": "flows.publish.messages",
    "DeliveryLedger": "flows.publish.publisher",
    "Publisher": "flows.publish.publisher",
    "PublishError": "flows.publish.publisher",
    "publisher_from_settings": "flows.publish.factory",
}
__all__ = [
    "KINDS",
    "AnalysisOutputs",
    "DeliveryLedger",
    "InvalidMessage",
    "Message",
    "PublishError",
    "Publisher",
    "Topics",
    "message_id",
    "publisher_from_settings",
    "report_message",
    "run_messages",
    "validate",
]

if TYPE_CHECKING:
    from flows.publish.envelope import KINDS, InvalidMessage, Message, Topics, message_id, validate
    from flows.publish.factory import publisher_from_settings
    from flows.publish.messages import AnalysisOutputs, report_message, run_messages
    from flows.publish.publisher import DeliveryLedger, Publisher, PublishError


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value
