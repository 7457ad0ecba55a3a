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
* messages are sent in windows (``WINDOW``): a window is flushed and checked before the
  next is built, so at most one window is in flight (back-pressure: enqueuing a whole
  323,121-message run let batches expire after ``delivery_timeout_ms`` on a busy
  machine). After each acknowledged window the progress is recorded
  (``flows.publish.progress``): a retry continues after it instead of re-sending;
* only when every future succeeded are the counts returned and the ledger written.

Guarantee: at-least-once on the wire (a window that failed part-way is sent again whole
by the retry), exactly-once per ``message_id`` for readers that de-duplicate by it, as
``bigd results`` does (``flows.publish.results``).

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
from flows.publish.progress import Progress
from flows.publish.publisher import DeliveryLedger, PublishError, record_delivery
from flows.retry import retrying

log = logging.getLogger(__name__)

# Below this many messages one process sends faster than workers can start.
PARALLEL_FROM = 5_000
# Messages in flight at most: sent, then flushed and checked before the next are built.
# 50,000 of our ~450-byte envelopes are ~25 MB, well inside the producer's 32 MB buffer;
# at 20,000-30,000 msg/s per process a window is acknowledged in a few seconds, far
# from delivery_timeout_ms even on a busy machine.
WINDOW = 50_000
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


class _ProducerSender:
    """One producer in this process: sends a window, flushes, checks every future."""

    def __init__(self, producer: KafkaProducer, flush_timeout: float, bootstrap: str):
        self.producer, self.flush_timeout, self.bootstrap = producer, flush_timeout, bootstrap
        self.known: set[str] = set()

    def send(self, window: list[Message]) -> tuple[dict[tuple[str, str], int], list[str]]:
        sent: list[tuple[Message, Any]] = []
        try:
            for topic in {message.topic for message in window} - self.known:
                self.producer.partitions_for(topic)  # its metadata before its first record
                self.known.add(topic)
            for message in window:
                future = self.producer.send(
                    message.topic, key=message.key.encode(), value=message.value
                )
                sent.append((message, future))
            self.producer.flush(timeout=self.flush_timeout)
        except KafkaError as error:
            return {}, [f"sending to {self.bootstrap}: {type(error).__name__}: {error}"]
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
        return counts, failures

    def close(self, abort: bool = False) -> None:
        self.producer.close(timeout=0 if abort else 10)


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
        window: int = WINDOW,
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
        self.window = window  # messages in flight at most; each window flushed and checked
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
        """Send in windows of ``window`` messages, each flushed and checked before the next
        is built (back-pressure: never more than a window in flight, so no batch waits
        past ``delivery_timeout_ms`` behind the rest of the run); record the progress
        after each window, so a retry continues after what was acknowledged; record the
        delivery when all is acknowledged."""
        stream = iter(messages)
        first = next(stream, None)
        if first is None:
            return {}
        lake = self.ledger.lake if self.ledger is not None else None
        run_id, first_id = first.envelope["run_id"], first.envelope["message_id"]
        progress = Progress.load(lake, run_id, first_id, self.target)
        stream = self._skip_acknowledged(itertools.chain([first], stream), progress)
        head = list(itertools.islice(stream, self.window))
        if not head:  # everything was acknowledged by an attempt cut before recording it
            delivered = record_delivery(self.ledger, self.target, progress.acknowledged_counts())
            progress.clear()
            return delivered
        partitions = self.ensure_topics({message.topic for message in head})
        parallel = self.workers > 1 and len(head) >= PARALLEL_FROM
        sender = self._sender(partitions, parallel)
        total = progress.acknowledged
        try:
            window = head
            while window:
                missing = {m.topic for m in window} - set(partitions)
                if missing:  # a new topic: create it before its first send
                    partitions.update(self.ensure_topics(missing))
                counts, failures = sender.send(window)
                total += len(window)
                acknowledged = sum(counts.values())
                if failures or acknowledged != len(window):
                    raise PublishError(
                        f"{len(window) - acknowledged} of {total} messages were not acknowledged"
                        f" by {self.bootstrap} (first: {(failures or ['no answer'])[0]}); "
                        f"{progress.acknowledged + acknowledged} acknowledged so far; a retry "
                        f"continues after the first {progress.acknowledged}; nothing was "
                        "recorded as delivered"
                    )
                progress.advance(window[-1].envelope["message_id"], counts, len(window))
                window = list(itertools.islice(stream, self.window))
        except BaseException:
            sender.close(abort=True)
            raise
        sender.close()
        delivered = record_delivery(self.ledger, self.target, progress.acknowledged_counts())
        progress.clear()
        return delivered

    def _skip_acknowledged(self, stream: Iterator[Message], progress: Progress):
        """``stream`` after the prefix ``progress`` says was acknowledged, checked by the
        id of its last message; the skipped messages are built again but not kept."""
        if progress.acknowledged:
            skipped = sum(1 for _ in itertools.islice(stream, progress.acknowledged - 1))
            last = next(stream, None)
            if last is None or last.envelope["message_id"] != progress.last_id:
                progress.clear()  # the run's messages changed: the next publish sends all
                raise PublishError(
                    f"the messages of run {last.envelope['run_id'] if last else '?'} differ "
                    f"from the {skipped + 1} an interrupted publish had sent; its progress "
                    "was discarded: publish again to send them all"
                )
            log.info("continuing after %d acknowledged messages", progress.acknowledged)
        return stream

    def _sender(self, partitions: dict[str, int], parallel: bool):
        if parallel:
            from flows.publish.parallel import ProcessSender

            return ProcessSender(
                partitions,
                self.workers,
                self.servers,
                self.producer_config,
                self.flush_timeout_seconds,
            )
        return _ProducerSender(self.new_producer(), self.flush_timeout_seconds, self.bootstrap)

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
