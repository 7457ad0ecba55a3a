"""F2: an outbox publish killed with -9 leaves a temporary object; readers never read it
and the next publish of that run removes it. ``results`` prints one line per message_id."""

from __future__ import annotations

import json

import pytest

from flows.config import get_settings
from flows.lake import Lake
from flows.publish.outbox import OutboxPublisher
from tests.analysis_outputs import write_outputs
from tests.faults.killing import kill_when_stopped

RUN = "run-20261130-k1"
CHILD = """
import sys
from flows.lake import Lake
from flows.publish import AnalysisOutputs, Topics, run_messages
from flows.publish.outbox import OutboxPublisher
from tests.faults.killing import stop_here

lake = Lake.from_url({lake!r})
outputs = AnalysisOutputs.read(lake, "analysis/x")

def then_die(messages):
    for number, message in enumerate(messages):
        if number == 40:
            stop_here()
        yield message

OutboxPublisher(lake).publish(then_die(run_messages(outputs, Topics())))
"""


def results(*arguments: str) -> tuple[int, list[str], str]:
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["results", *arguments])
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.output


@pytest.fixture
def lake(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    return Lake.from_url(str(tmp_path / "lake"))


def test_a_killed_outbox_write_is_never_read_and_is_cleaned_up(lake, tmp_path):
    expected = write_outputs(lake, "analysis/x", run_id=RUN, prospects=200).messages
    kill_when_stopped(CHILD.format(lake=str(tmp_path / "lake")), tmp_path / "stop", {})
    leftovers = [obj.key for obj in lake.list("outbox") if "/_tmp-" in obj.key]
    assert leftovers, "the kill should have left a temporary object"

    # Readers see nothing of it (the run was never delivered), and fail on nothing.
    code, lines, _ = results("--topic", "bigd.prospects", "--all-runs")
    assert (code, lines) == (0, [])
    assert list(OutboxPublisher(lake).read("bigd.prospects")) == []

    # The next publish of that run removes what the killed one left.
    from flows.publish import AnalysisOutputs, Topics, run_messages

    outputs = AnalysisOutputs.read(lake, "analysis/x")
    OutboxPublisher(lake).publish(run_messages(outputs, Topics()))
    assert not [obj.key for obj in lake.list("outbox") if "/_tmp-" in obj.key]
    code, lines, _ = results("--topic", "bigd.prospects")  # the newest run by default
    assert code == 0 and len(lines) == expected["prospects"]
    assert {json.loads(line)["run_id"] for line in lines} == {RUN}


def test_results_prints_each_message_id_once_unless_raw(lake):
    from flows.publish import AnalysisOutputs, Topics, run_messages

    write_outputs(lake, "analysis/x", run_id=RUN, prospects=30)
    outputs = AnalysisOutputs.read(lake, "analysis/x")
    OutboxPublisher(lake).publish(run_messages(outputs, Topics()))
    key = f"outbox/bigd.prospects/{RUN}.jsonl"
    stored = lake.read_bytes(key)
    lake.write_bytes(key, stored + stored.splitlines(keepends=True)[0] * 3)  # re-sent copies

    code, lines, _ = results("--topic", "bigd.prospects", "--run-id", RUN)
    ids = [json.loads(line)["message_id"] for line in lines]
    assert code == 0 and len(ids) == 30 == len(set(ids))
    code, raw, _ = results("--topic", "bigd.prospects", "--run-id", RUN, "--raw")
    assert len(raw) == 33


def test_results_refuses_an_unknown_topic_naming_the_topics(lake):
    code, _, output = results("--topic", "bigd.nope")
    assert code == 2
    assert "bigd.potential" in output and "bigd.prospects" in output


def test_a_half_written_temporary_object_is_not_read(lake):
    """What the issue saw: ``_tmp-<uuid>-<run>.jsonl`` holding half a line."""
    half = b'{"message_id": "a", "run_id": "r"}\n{"message_id": "b", "ru'
    lake.write_bytes(f"outbox/bigd.potential/_tmp-0123abcd-{RUN}.jsonl", half)
    assert list(OutboxPublisher(lake).read("bigd.potential")) == []
    code, lines, _ = results("--topic", "bigd.potential", "--all-runs")
    assert (code, lines) == (0, [])
