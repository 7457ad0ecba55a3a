"""The embedded publisher: JSON-lines outbox in a folder lake."""

from __future__ import annotations

from flows.config import load_settings
from flows.lake import Lake
from flows.publish import AnalysisOutputs, DeliveryLedger, Topics, run_messages, validate
from flows.publish.factory import publisher_from_settings
from flows.publish.kafka import KafkaPublisher
from flows.publish.outbox import OutboxPublisher
from tests.analysis_outputs import write_outputs

RUN = "run-outbox-1"


def test_outbox_publishes_reads_back_and_republishes_idempotently(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id=RUN).messages
    publisher = OutboxPublisher(lake)
    topics = Topics()
    outputs = AnalysisOutputs.read(lake, "analysis/x")

    counts = publisher.publish(run_messages(outputs, topics))
    assert counts == {topics.name(kind): count for kind, count in expected.items()}
    first = {topic: list(publisher.read(topic)) for topic in counts}
    for topic, envelopes in first.items():
        assert len(envelopes) == counts[topic]
        for envelope in envelopes:
            validate(topics.kind(topic), envelope)

    publisher.publish(run_messages(outputs, topics))  # again: replaced, not appended
    for topic in counts:
        again = list(publisher.read(topic, run_id=RUN))
        assert [e["message_id"] for e in again] == [e["message_id"] for e in first[topic]]
    assert [obj.key for obj in lake.list("outbox")] == sorted(
        f"outbox/{topic}/{RUN}.jsonl" for topic in counts
    )
    delivered = DeliveryLedger(lake).deliveries(RUN)
    assert {topic: entry.messages for topic, entry in delivered.items()} == counts
    assert list(publisher.read(topics.potential, limit=3)).__len__() == 3
    assert list(publisher.read(topics.potential, run_id="no-such-run")) == []


def test_settings_choose_the_publisher(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    assert isinstance(publisher_from_settings(load_settings(), lake), OutboxPublisher)
    kafka = publisher_from_settings(
        load_settings(kafka_bootstrap="127.0.0.1:9092", kafka_partitions=6), lake
    )
    assert isinstance(kafka, KafkaPublisher)
    assert kafka.partitions == 6


def test_results_command_reads_the_outbox(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import get_settings

    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id=RUN).messages
    OutboxPublisher(lake).publish(run_messages(AnalysisOutputs.read(lake, "analysis/x"), Topics()))

    result = CliRunner().invoke(app, ["results", "--topic", "bigd.potential", "--run-id", RUN])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == expected["potential"]
    assert json.loads(lines[0])["run_id"] == RUN
    limited = CliRunner().invoke(app, ["results", "--topic", "bigd.prospects", "--limit", "2"])
    assert len([line for line in limited.stdout.splitlines() if line.startswith("{")]) == 2


def test_a_republish_killed_midway_leaves_the_previous_outbox_whole(tmp_path, monkeypatch):
    import contextlib

    import pytest

    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/x", run_id=RUN)
    publisher = OutboxPublisher(lake)
    topics = Topics()
    outputs = AnalysisOutputs.read(lake, "analysis/x")
    publisher.publish(run_messages(outputs, topics))
    before = {obj.key: lake.read_bytes(obj.key) for obj in lake.list("outbox")}

    real_open = Lake.open_output

    @contextlib.contextmanager
    def dies_halfway(self, key):
        with real_open(self, key) as sink:

            class Half:
                def write(self, data):
                    sink.write(data[: len(data) // 2])
                    raise OSError("killed")

            yield Half()

    monkeypatch.setattr(Lake, "open_output", dies_halfway)
    with pytest.raises(OSError, match="killed"):
        publisher.publish(run_messages(outputs, topics))
    monkeypatch.undo()

    # Every outbox file is the complete previous one; no half-written or temporary file.
    assert {obj.key: lake.read_bytes(obj.key) for obj in lake.list("outbox")} == before
