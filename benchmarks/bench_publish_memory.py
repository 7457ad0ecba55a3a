"""Benchmark the memory of publishing a run: streamed from the files vs. built whole.

    python -m benchmarks.bench_publish_memory --prospects 20000,200000 [--batch-rows 10000]

For each size, writes an analysis output folder (``--prospects`` prospect rows, plus the
potential rows and the metrics) into a temporary folder lake, then, each in a fresh
process so peak RSS is the measurement's own:

* streamed: ``stream_run_messages`` (pyarrow ``iter_batches``, ``--batch-rows`` rows at a
  time) into the outbox publisher, as ``publish_results`` does;
* built whole: the same messages collected in a list first, then published (what the
  publish step did before: 2.4M messages took 18.7 GB).

Prints seconds and peak RSS of each. Peak RSS of the streamed publish should stay flat
as the run grows; the whole build grows with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

CHILD = """
import json, resource, sys, time
from flows.lake import Lake
from flows.publish import Topics
from flows.publish.outbox import OutboxPublisher
from flows.publish.stream import stream_run_messages

lake, mode, batch = Lake.from_url(sys.argv[1]), sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
messages = stream_run_messages(lake, "analysis/run", Topics(), batch)
if mode == "whole":
    messages = list(messages)
counts = OutboxPublisher(lake).publish(messages)
print(json.dumps({"seconds": time.perf_counter() - started, "messages": sum(counts.values()),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(lake: Path, mode: str, batch_rows: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(lake), mode, str(batch_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", default="20000,200000", help="run sizes, comma-separated")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per built batch")
    args = parser.parse_args()
    from flows.lake import Lake
    from tests.analysis_outputs import write_outputs

    console = Console(width=120)
    console.print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    report = Table(title=f"Publishing a run to the outbox (batches of {args.batch_rows:,} rows)")
    for column in ("prospects", "messages", "mode", "seconds", "peak RSS MB"):
        report.add_column(column, justify="right")
    for size in (int(value) for value in args.prospects.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            lake = Path(scratch) / "lake"
            write_outputs(Lake.from_url(str(lake)), "analysis/run", run_id="bench", prospects=size)
            for mode in ("streamed", "whole"):
                result = measure(lake, mode, args.batch_rows)
                report.add_row(f"{size:,}", f"{result['messages']:,}", mode,
                               f"{result['seconds']:.2f}", f"{result['peak_mb']:,.0f}")  # fmt: skip
    console.print(report)
    console.print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
