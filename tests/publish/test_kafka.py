"""The Kafka publisher against a real Kafka-protocol broker (tansu, memory storage)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaConfigurationError

from flows.lake import Lake
from flows.publish import AnalysisOutputs, DeliveryLedger, PublishError, Topics, run_messages
from flows.publish import validate as validate_envelope
from flows.publish.kafka import PRODUCER_DEFAULTS, KafkaPublisher
from flows.publish.messages import report_message
from tests.analysis_outputs import write_outputs
from tests.kafka_broker import free_port


def unique_topics() -> Topics:
    tag = uuid.uuid4().hex[:8]
    return Topics(
        potential=f"t{tag}.potential",
        prospects=f"t{tag}.prospects",
        model_metrics=f"t{tag}.model-metrics",
        reports=f"t{tag}.reports",
    )


@pytest.mark.integration
def test_producer_really_is_idempotent_with_acks_all(kafka_bootstrap):
    publisher = KafkaPublisher(kafka_bootstrap)
    producer = publisher.new_producer()
    try:
        assert producer.config["enable_idempotence"] is True
        assert producer.config["acks"] in (-1, "all")
        assert producer.config["compression_type"] == "zstd"
        assert producer._transaction_manager is not None  # what idempotence really switches on
    finally:
        producer.close()
    # Set explicitly, a conflicting setting fails loudly instead of switching it off.
    with pytest.raises(KafkaConfigurationError):
        KafkaProducer(bootstrap_servers=[kafka_bootstrap], **{**PRODUCER_DEFAULTS, "retries": 0})


def report_record(notebook: str, headline: dict | None = None) -> dict:
    """What the report store records of a rendered report (a ``bigd.reports`` payload)."""
    return {
        "notebook": notebook,
        "report_date": "2026-11-30",
        "status": "succeeded",
        "analyst_html": "file:///a.html",
        "marketing_html": "file:///m.html",
        "manifest": "file:///manifest.json",
        "index": "file:///index.html",
        "headline": headline or {},
        "error": None,
    }


def read_back(publisher: KafkaPublisher, topic: str, run_id: str, count: int) -> list[dict]:
    """The run's envelopes of a topic, read again (up to 3 times, 2 s apart) while fewer
    than ``count`` are visible: after two producers wrote the same partitions, tansu's high
    watermark can lag the records it acknowledged, and a consumer sees only what is below
    it (CI once read 105 of 128 on a busy machine). Every message must still come back."""
    for _attempt in range(3):
        envelopes = list(publisher.read(topic, run_id=run_id))
        if len(envelopes) >= count:
            break
        time.sleep(2)
    return envelopes


@pytest.mark.integration
@pytest.mark.parametrize("workers", [1, 2])
def test_publish_a_run_and_consume_every_topic_back(
    kafka_bootstrap, tmp_path, workers, monkeypatch
):
    monkeypatch.setattr("flows.publish.kafka.PARALLEL_FROM", 500)  # workers for 1,500 too
    lake = Lake.from_url(str(tmp_path / "lake"))
    run_id = f"run-{uuid.uuid4().hex[:6]}"
    expected = write_outputs(lake, "analysis/run", run_id=run_id, repeat=50).messages
    expected["reports"] = 1
    topics = unique_topics()
    publisher = KafkaPublisher(
        kafka_bootstrap, partitions=3, ledger=DeliveryLedger(lake), workers=workers
    )
    report = report_record("infographic", headline={"ensemble_r2": 0.62})
    messages = [
        *run_messages(AnalysisOutputs.read(lake, "analysis/run"), topics),
        report_message(report, run_id, topics),
    ]

    counts = publisher.publish(messages)

    assert counts == {topics.name(kind): count for kind, count in expected.items()}
    for topic, count in counts.items():
        envelopes = read_back(publisher, topic, run_id, count)
        assert len(envelopes) == count
        for envelope in envelopes:
            validate_envelope(topics.kind(topic), envelope)
        assert len({envelope["message_id"] for envelope in envelopes}) == count
    delivered = DeliveryLedger(lake).deliveries(run_id)
    assert {topic: entry.messages for topic, entry in delivered.items()} == counts
    assert len(list(publisher.read(topics.potential, limit=5))) == 5


def test_unreachable_broker_retries_then_fails_clearly_and_records_nothing(tmp_path, monkeypatch):
    import flows.publish.kafka as kafka_module

    attempts = []
    real_admin = kafka_module.KafkaAdminClient
    monkeypatch.setattr(
        kafka_module, "KafkaAdminClient", lambda **kw: attempts.append(kw) or real_admin(**kw)
    )
    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/run", run_id="run-unreachable")
    dead = f"127.0.0.1:{free_port()}"
    publisher = KafkaPublisher(
        dead,
        ledger=DeliveryLedger(lake),
        connect_attempts=2,
        retry_delay_seconds=0.1,
        bootstrap_timeout_seconds=1,
    )
    outputs = AnalysisOutputs.read(lake, "analysis/run")
    with pytest.raises(PublishError, match=f"{dead} unreachable after 2 attempts"):
        publisher.publish(run_messages(outputs, unique_topics()))
    assert len(attempts) == 2
    assert DeliveryLedger(lake).deliveries("run-unreachable") == {}
    assert lake.list("state") == []


@pytest.mark.integration
def test_results_command_reads_a_kafka_topic(kafka_bootstrap, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import get_settings

    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/run", run_id="run-cli")
    topics = unique_topics()
    KafkaPublisher(kafka_bootstrap).publish(
        run_messages(AnalysisOutputs.read(lake, "analysis/run"), topics)
    )
    monkeypatch.setenv("BIGD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("BIGD_TOPIC_PROSPECTS", topics.prospects)  # a configured topic
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["results", "--topic", topics.prospects, "--run-id", "run-cli", "--limit", "4"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 4


@pytest.mark.integration
def test_an_invalid_message_midway_stops_the_workers_and_records_nothing(
    kafka_bootstrap, tmp_path, monkeypatch
):
    monkeypatch.setattr("flows.publish.kafka.PARALLEL_FROM", 500)
    from flows.publish import InvalidMessage

    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/run", run_id="run-invalid", repeat=50)
    topics = unique_topics()

    def messages():
        yield from run_messages(AnalysisOutputs.read(lake, "analysis/run"), topics)
        raise InvalidMessage("potential message 'x' is invalid")

    publisher = KafkaPublisher(kafka_bootstrap, ledger=DeliveryLedger(lake), workers=2)
    with pytest.raises(InvalidMessage):
        publisher.publish(messages())
    assert DeliveryLedger(lake).deliveries("run-invalid") == {}


@pytest.mark.integration
def test_workers_keep_each_keys_partition_and_order(kafka_bootstrap, tmp_path, monkeypatch):
    """Keys are dealt to workers (not partitions): every message still lands on Kafka's
    default partition for its key, in the order it was built, and all chunks arrive,
    including those held while a worker was starting."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.partitioner.default import murmur2

    monkeypatch.setattr("flows.publish.kafka.PARALLEL_FROM", 500)
    monkeypatch.setattr("flows.publish.parallel.CHUNK", 40)  # many chunks per worker
    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/run", run_id="run-order", repeat=40)
    topics = unique_topics()
    outputs = AnalysisOutputs.read(lake, "analysis/run")
    built = [m for m in run_messages(outputs, topics) if m.topic == topics.potential]
    counts = KafkaPublisher(kafka_bootstrap, partitions=3, workers=2).publish(built)
    assert counts == {topics.potential: len(built)}

    consumer = KafkaConsumer(
        bootstrap_servers=[kafka_bootstrap], group_id=None, auto_offset_reset="earliest"
    )
    try:
        assigned = [TopicPartition(topics.potential, p) for p in range(3)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records = []
        while len(records) < len(built):
            polled = consumer.poll(timeout_ms=5000)
            assert polled, f"only {len(records)} of {len(built)} messages came back"
            for batch in polled.values():
                records.extend(batch)
    finally:
        consumer.close()
    expected_order: dict[str, list[str]] = {}
    for message in built:
        expected_order.setdefault(message.key, []).append(message.message_id)
    seen: dict[str, list[tuple[int, str]]] = {}
    for record in records:
        key = record.key.decode()
        default_partition = (murmur2(record.key) & 0x7FFFFFFF) % 3  # as every Kafka client
        assert record.partition == default_partition, key
        message_id = json.loads(record.value)["message_id"]
        seen.setdefault(key, []).append((record.offset, message_id))
    assert len(expected_order) > 10  # many keys, over both workers
    for key, ids in expected_order.items():
        assert [message_id for _, message_id in sorted(seen[key])] == ids, key


def test_a_worker_that_cannot_start_reports_why(tmp_path):
    """A worker whose producer fails before it is ready (here: no broker answers) fails
    the publish with its own error, not as a dead worker, and nothing counts as sent."""
    from flows.publish.parallel import ProcessSender

    topics = unique_topics()
    messages = [report_message(report_record(f"nb-{i}"), "run-x", topics) for i in range(30)]
    sender = ProcessSender(
        {topics.reports: 3},
        2,
        [f"127.0.0.1:{free_port()}"],
        {**PRODUCER_DEFAULTS, "bootstrap_timeout_ms": 1000},
        5,
    )
    try:
        counts, failures = sender.send(messages)
    finally:
        sender.close(abort=True)
    assert counts == {}
    assert sum("Unable to bootstrap" in failure for failure in failures) == 2, failures
    assert not any("died" in failure for failure in failures), failures


@pytest.mark.integration
def test_a_worker_exits_when_its_caller_is_gone(kafka_bootstrap):
    """Workers are plain subprocesses: if the publishing process dies, a worker sees its
    pipe close and exits instead of lingering."""
    from flows.publish.parallel import READY, start_worker

    pipe, process = start_worker([kafka_bootstrap], PRODUCER_DEFAULTS, 5)
    assert pipe.recv() == READY
    pipe.close()  # what the caller's death does to the worker's end
    assert process.wait(timeout=20) == 0
