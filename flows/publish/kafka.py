"""The Kafka publisher (kafka-python 3.0) and a reader for operators and tests.

Delivery guarantees, in order of what can go wrong:

* the producer is idempotent and waits for every in-sync replica: ``acks="all"`` and
  ``enable_idempotence=True`` set *explicitly* (left implicit, a conflicting setting
  such as ``retries=0`` silently turns idempotence off; explicit, it raises);
* zstd batches with ``linger_ms``. Compression is CPU in the sending process, the
  bottleneck here: per 100,000 of our 444-byte envelopes one producer spent ~3.4 s of
  CPU with zstd (``zstandard``), about the same as uncompressed, ~4 s with lz4 and
  4.1-4.5 s with gzip (kafka-python compresses gzip at level 9, not configurable).
  kafka-python also checksums every batch (CRC-32C) in pure Python unless the
  ``crc32c`` package is installed (pinned);
* every ``send`` future is kept, ``flush()`` waits for all of them, then each future is
  checked, because ``flush()`` does not raise for records that failed;
* only when every future succeeded are the counts returned and the ledger written.

The api version is left to negotiation (a fixed old version breaks the idempotent
producer against tansu).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, TopicAlreadyExistsError

from flows.publish.envelope import Message
from flows.publish.publisher import DeliveryLedger, PublishError, record_delivery
from flows.retry import retrying

log = logging.getLogger(__name__)

# Below this many messages one process sends faster than workers can start.
PARALLEL_FROM = 5_000
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "compression_type": "zstd",
    "linger_ms": 20,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,
    "request_timeout_ms": 15_000,
    "max_block_ms": 15_000,
    "delivery_timeout_ms": 60_000,
}


class KafkaPublisher:
    """Publishes to a Kafka-protocol cluster; creates missing topics first."""

    def __init__(
        self,
        bootstrap: str,
        partitions: int = 3,
        replication_factor: int = 1,
        ledger: DeliveryLedger | None = None,
        connect_attempts: int = 3,
        retry_delay_seconds: float = 1.0,
        flush_timeout_seconds: float = 120.0,
        bootstrap_timeout_seconds: float = 5.0,
        workers: int = 1,
        **producer_overrides: Any,
    ):
        self.bootstrap = bootstrap
        self.servers = [server.strip() for server in bootstrap.split(",")]
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.ledger = ledger
        self.connect_attempts = connect_attempts
        self.retry_delay_seconds = retry_delay_seconds
        self.flush_timeout_seconds = flush_timeout_seconds
        self.workers = workers  # > 1: send from that many processes (see parallel.py)
        # How long each client waits for a first broker before giving up (default 30 s).
        self.client_config = {"bootstrap_timeout_ms": int(bootstrap_timeout_seconds * 1000)}
        self.producer_config = {**PRODUCER_DEFAULTS, **self.client_config, **producer_overrides}
        self.target = f"kafka {bootstrap}"

    # ---- connecting -----------------------------------------------------------------

    def _with_retries(self, what: str, connect):
        """Try ``connect`` while the broker is unreachable (the shared transient rule);
        a broker still unreachable is one clear error."""
        try:
            return retrying(
                attempts=self.connect_attempts,
                base_delay=self.retry_delay_seconds,
                max_delay=max(self.retry_delay_seconds * self.connect_attempts, 0.1),
            )(connect)
        except (KafkaError, OSError) as error:
            raise PublishError(
                f"Kafka broker {self.bootstrap} unreachable after {self.connect_attempts} "
                f"attempts ({what}): {type(error).__name__}: {error}; nothing was delivered"
            ) from None

    def new_producer(self) -> KafkaProducer:
        return self._with_retries(
            "connect producer",
            lambda: KafkaProducer(bootstrap_servers=self.servers, **self.producer_config),
        )

    def ensure_topics(self, topics: Iterable[str]) -> dict[str, int]:
        """Create the topics that do not exist yet, with the configured partitions;
        returns the partition count of each."""
        wanted = sorted(set(topics))
        admin = self._with_retries(
            "connect admin",
            lambda: KafkaAdminClient(bootstrap_servers=self.servers, **self.client_config),
        )
        try:
            missing = [topic for topic in wanted if topic not in set(admin.list_topics())]
            if missing:
                spec = {
                    topic: {
                        "num_partitions": self.partitions,
                        "replication_factor": self.replication_factor,
                    }
                    for topic in missing
                }
                with suppress(TopicAlreadyExistsError):  # created meanwhile by another publisher
                    admin.create_topics(spec, wait_for_metadata=True)
                log.info("created topics %s with %d partitions", missing, self.partitions)
            return {
                described["name"]: len(described["partitions"])
                for described in admin.describe_topics(wanted)
            }
        finally:
            admin.close()

    # ---- publishing -----------------------------------------------------------------

    def publish(self, messages: Iterable[Message]) -> dict[str, int]:
        """Send everything, wait for every acknowledgement, then record the delivery."""
        messages = iter(messages)
        head = list(itertools.islice(messages, PARALLEL_FROM))
        if self.workers > 1 and len(head) == PARALLEL_FROM:  # large: worth starting workers
            return self._publish_in_processes(itertools.chain(head, messages))
        messages = head + list(messages)  # all built and validated before anything is sent
        if not messages:
            return {}
        self.ensure_topics(message.topic for message in messages)
        producer = self.new_producer()
        sent: list[tuple[Message, Any]] = []
        try:
            for message in messages:
                future = producer.send(message.topic, key=message.key.encode(), value=message.value)
                sent.append((message, future))
            producer.flush(timeout=self.flush_timeout_seconds)
        except KafkaError as error:
            raise PublishError(
                f"sending to {self.bootstrap} failed after {len(sent)} of {len(messages)} "
                f"messages: {type(error).__name__}: {error}; nothing was recorded as delivered"
            ) from error
        finally:
            producer.close(timeout=10)
        counts: dict[tuple[str, str], int] = {}
        failures: list[str] = []
        for message, future in sent:
            if future.succeeded():
                run_topic = (message.envelope["run_id"], message.topic)
                counts[run_topic] = counts.get(run_topic, 0) + 1
            else:
                failures.append(
                    f"{message.topic}/{message.key}: {future.exception or 'no answer'!r}"
                )
        return self._acknowledged(counts, failures, len(sent))

    def _publish_in_processes(self, messages: Iterable[Message]) -> dict[str, int]:
        """Stream messages (built and validated here) to worker processes by partition."""
        from flows.publish.parallel import send_in_processes

        messages = iter(messages)
        first = next(messages, None)
        if first is None:
            return {}
        partitions: dict[str, int] = {}

        def with_topics():
            for message in itertools.chain([first], messages):
                if message.topic not in partitions:  # a new topic: create it before its first send
                    partitions.update(self.ensure_topics([message.topic]))
                yield message

        stream = with_topics()
        head = next(stream)  # the first topic exists before any worker connects
        counts, failures, total = send_in_processes(
            itertools.chain([head], stream),
            partitions,
            self.workers,
            self.servers,
            self.producer_config,
            self.flush_timeout_seconds,
        )
        return self._acknowledged(counts, failures, total)

    def _acknowledged(
        self, counts: dict[tuple[str, str], int], failures: list[str], total: int
    ) -> dict[str, int]:
        """Record and return the counts only if every message was acknowledged."""
        if failures:
            raise PublishError(
                f"{len(failures)} of {total} messages were not acknowledged by "
                f"{self.bootstrap} (first: {failures[0]}); nothing was recorded as delivered"
            )
        return record_delivery(self.ledger, self.target, counts)

    # ---- reading back ---------------------------------------------------------------

    def read(
        self, topic: str, run_id: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every envelope of a topic from the beginning, by manual assignment (no group
        join to wait for), until the topic stays quiet at its end offsets."""
        consumer = self._with_retries(
            "connect consumer",
            lambda: KafkaConsumer(
                bootstrap_servers=self.servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=6000,
                heartbeat_interval_ms=2000,
                **self.client_config,
            ),
        )
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                return
            assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            produced = 0
            deadline = time.monotonic() + 120
            quiet_polls = 0
            # Stop after two empty polls once every partition is at its end offset. The end
            # offsets alone are not enough: tansu reports a high watermark that can lag the
            # records it already serves (seen right after an idempotent compressed publish).
            while quiet_polls < 2:
                if time.monotonic() > deadline:
                    raise PublishError(f"reading {topic} from {self.bootstrap} timed out")
                batches = consumer.poll(timeout_ms=500)
                if not batches:
                    end = consumer.end_offsets(assigned)
                    caught_up = all(consumer.position(tp) >= end[tp] for tp in assigned)
                    quiet_polls = quiet_polls + 1 if caught_up else 0
                    continue
                quiet_polls = 0
                for records in batches.values():
                    for record in records:
                        envelope = json.loads(record.value)
                        if run_id is not None and envelope.get("run_id") != run_id:
                            continue
                        if limit is not None and produced >= limit:
                            return
                        produced += 1
                        yield envelope
        finally:
            consumer.close()
