"""The publisher the settings name: Kafka or the lake's JSON-lines outbox.

Kept apart from ``publisher.py`` (the protocol both publishers implement), so the
protocol imports neither of them and they import it: no circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.lake import Lake
from flows.publish.publisher import DeliveryLedger, Publisher

if TYPE_CHECKING:
    from flows.config import Settings


def publisher_from_settings(settings: Settings, lake: Lake) -> Publisher:
    """Kafka when the results target is ``kafka`` (``BIGD_RESULTS``, or a
    ``BIGD_KAFKA_BOOTSTRAP`` when it is unset), else the JSON-lines outbox in the lake."""
    if settings.results_target == "kafka":
        from flows.publish.kafka import KafkaPublisher

        if not settings.kafka_bootstrap:
            raise ValueError("BIGD_KAFKA_BOOTSTRAP: required with BIGD_RESULTS=kafka")
        return KafkaPublisher(
            settings.kafka_bootstrap,
            partitions=settings.kafka_partitions,
            workers=settings.kafka_workers,
            ledger=DeliveryLedger(lake),
        )
    from flows.publish.outbox import OutboxPublisher

    return OutboxPublisher(lake)
