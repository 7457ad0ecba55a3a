"""Results to Kafka topics (or the lake's JSON-lines outbox), one JSON Schema per topic."""

from flows.publish.envelope import KINDS, InvalidMessage, Message, Topics, message_id, validate
from flows.publish.messages import AnalysisOutputs, report_message, run_messages
from flows.publish.publisher import (
    DeliveryLedger,
    Publisher,
    PublishError,
    publisher_from_settings,
)

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
