"""F7 and #23: publishing is streamed in bounded batches, sends in bounded windows, and a
publish cut part-way (an error, or kill -9) continues after what was acknowledged, so
Kafka holds each message once; ``results`` shows each message_id once regardless."""

from __future__ import annotations

import json
import tracemalloc
import uuid

import pytest

from flows.lake import Lake
from flows.publish import DeliveryLedger, Topics
from flows.publish import messages as builders
from flows.publish.kafka import KafkaPublisher
from flows.publish.outbox import OutboxPublisher
from flows.publish.stream import message_batches, stream_run_messages
from tests.analysis_outputs import write_outputs
from tests.faults.killing import kill_when_stopped


def unique_topics() -> Topics:
    tag = uuid.uuid4().hex[:8]
    return Topics(f"f{tag}.potential", f"f{tag}.prospects", f"f{tag}.model-metrics", "r")


# ---- streamed building (#23) ------------------------------------------------------------


def test_messages_are_built_one_bounded_batch_at_a_time(tmp_path, monkeypatch):
    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id="run-b", repeat=10, prospects=250).messages
    built: list[int] = []
    real = builders.prospect_messages

    def recording(table, *args):
        built.append(table.num_rows)
        return real(table, *args)

    monkeypatch.setattr(builders, "prospect_messages", recording)
    batches = [len(batch) for batch in message_batches(lake, "analysis/x", Topics(), 64)]
    assert built == [64, 64, 64, 58]  # the prospects file, read 64 rows at a time
    assert max(batches) == 64 and sum(batches) == sum(expected.values())


def _peak_bytes(publish) -> int:
    tracemalloc.start()
    try:
        publish()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_publishing_memory_is_bounded_by_the_batch_not_the_run(tmp_path):
    """Peak memory of a streamed publish vs. building every message first (what the
    publish step did): the streamed one holds one batch, a small part of the run."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/x", run_id="run-m", repeat=1, prospects=20_000)
    outbox = OutboxPublisher(lake)

    streamed = _peak_bytes(
        lambda: outbox.publish(stream_run_messages(lake, "analysis/x", Topics(), 500))
    )
    all_at_once = _peak_bytes(
        lambda: outbox.publish(list(stream_run_messages(lake, "analysis/x", Topics(), 500)))
    )
    assert streamed * 4 < all_at_once, (streamed, all_at_once)


# ---- resuming after what was acknowledged (F7) ------------------------------------------


def kafka_records(bootstrap: str, topic: str) -> list[dict]:
    return list(KafkaPublisher(bootstrap).read(topic))


@pytest.mark.integration
def test_a_retry_continues_after_what_was_acknowledged(kafka_bootstrap, tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id="run-r", repeat=20, prospects=300).messages
    topics = unique_topics()
    publisher = KafkaPublisher(kafka_bootstrap, ledger=DeliveryLedger(lake), window=100)

    def cut_after(count):
        for number, message in enumerate(stream_run_messages(lake, "analysis/x", topics, 64)):
            if number == count:
                raise OSError("the machine went away")
            yield message

    with pytest.raises(OSError, match="went away"):
        publisher.publish(cut_after(450))  # windows 1-4 acknowledged, the 5th never sent
    assert DeliveryLedger(lake).deliveries("run-r") == {}

    counts = publisher.publish(stream_run_messages(lake, "analysis/x", topics, 64))
    assert counts == {
        topics.model_metrics: 1,
        topics.potential: expected["potential"],
        topics.prospects: expected["prospects"],
    }
    for topic, count in counts.items():
        records = kafka_records(kafka_bootstrap, topic)
        ids = [record["message_id"] for record in records]
        assert len(ids) == count == len(set(ids)), topic  # nothing sent twice
    assert not lake.list("state/publish-progress")


KILLED_PUBLISH = """
from flows.lake import Lake
from flows.publish import DeliveryLedger, Topics
from flows.publish.kafka import KafkaPublisher
from flows.publish.stream import stream_run_messages
from tests.faults.killing import stop_here

lake = Lake.from_url({lake!r})
topics = Topics({potential!r}, {prospects!r}, {metrics!r}, "r")

def killed_midway():
    for number, message in enumerate(stream_run_messages(lake, "analysis/x", topics, 64)):
        if number == 250:
            stop_here()
        yield message

KafkaPublisher({bootstrap!r}, ledger=DeliveryLedger(lake), window=100).publish(killed_midway())
"""


@pytest.mark.integration
def test_a_publish_killed_with_9_then_rerun_equals_a_clean_run(kafka_bootstrap, tmp_path):
    from flows.publish.results import distinct

    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id="run-k", repeat=20, prospects=300).messages
    topics = unique_topics()
    code = KILLED_PUBLISH.format(
        lake=str(tmp_path / "lake"),
        potential=topics.potential,
        prospects=topics.prospects,
        metrics=topics.model_metrics,
        bootstrap=kafka_bootstrap,
    )
    kill_when_stopped(code, tmp_path / "stop", {})
    progress = [json.loads(lake.read_bytes(o.key)) for o in lake.list("state/publish-progress")]
    assert [state["acknowledged"] for state in progress] == [200]

    publisher = KafkaPublisher(kafka_bootstrap, ledger=DeliveryLedger(lake), window=100)
    publisher.publish(stream_run_messages(lake, "analysis/x", topics, 64))  # a plain re-run
    raw = kafka_records(kafka_bootstrap, topics.potential)
    assert len(raw) == expected["potential"]  # the killed run's windows were not re-sent
    assert len(list(distinct(iter(raw)))) == expected["potential"]
    delivered = DeliveryLedger(lake).deliveries("run-k")
    assert delivered[topics.prospects].messages == expected["prospects"]


def test_progress_of_other_messages_is_discarded_not_trusted(tmp_path):
    """A stream that changed since the interrupted publish (other ids) is not skipped."""
    from flows.publish.kafka import KafkaPublisher
    from flows.publish.progress import Progress
    from flows.publish.publisher import PublishError

    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/x", run_id="run-p", prospects=20)
    messages = list(stream_run_messages(lake, "analysis/x", Topics(), 8))
    progress = Progress.load(lake, "run-p", messages[0].message_id, "kafka x")
    progress.advance("some-other-id", {("run-p", "t"): 10}, 10)
    publisher = KafkaPublisher("127.0.0.1:1", ledger=DeliveryLedger(lake))
    with pytest.raises(PublishError, match="differ from the 10 an interrupted publish"):
        publisher._skip_acknowledged(iter(messages), progress)
    assert not lake.list("state/publish-progress")  # the next publish sends everything

    progress = Progress.load(lake, "run-p", messages[0].message_id, "kafka x")
    progress.advance(messages[9].message_id, {("run-p", "t"): 10}, 10)
    rest = list(publisher._skip_acknowledged(iter(messages), progress))
    assert [m.message_id for m in rest] == [m.message_id for m in messages[10:]]
