"""The publishing benchmark's input is the analysis's own schema, so the benchmark cannot
rot when the outputs change (it once synthesised a table without ``prospects`` and failed
in the sender, after its broker had started)."""

from __future__ import annotations

from benchmarks.bench_publish import potential_rows
from flows.analysis.outputs import POTENTIAL_SCHEMA
from flows.publish.envelope import Topics
from flows.publish.messages import potential_messages


def test_the_benchmarks_rows_have_the_outputs_schema_and_make_valid_messages():
    table = potential_rows(300, "bench-run")
    assert table.schema == POTENTIAL_SCHEMA
    messages = list(potential_messages(table, "bench-run", Topics(potential="bench.potential")))
    assert len(messages) == 300
    assert len({m.key for m in messages}) == 300 // 36 + 1  # one key per region
