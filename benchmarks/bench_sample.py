"""Benchmark the sample release generator: time, throughput and peak memory per size.

``python -m benchmarks.bench_sample --rows 100000 1000000``: each size runs in its own
process so its peak RSS is its own; the target is 1,000,000 establishments in <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.measure import peak_rss_mb


def _worker(establishments: int, seed: int, out: Path) -> None:
    """Generate one release and print its figures as JSON (runs in a child process)."""
    from flows.sample import generate_release

    started = time.perf_counter()
    summary = generate_release(out, establishments=establishments, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": peak_rss_mb(),
                "cnpj_rows": sum(v for k, v in summary.rows.items() if k.endswith(".zip")),
                "sales": summary.partner["sales"],
                "output_mb": size / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="establishments per run"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.seed, args.out)
        return
    table = Table(title="python -m flows sample (zlib level 1, streamed in 100k chunks)")
    for column in (
        "establishments",
        "seconds",
        "estab/s",
        "CNPJ rows/s",
        "sales",
        "peak RSS MB",
        "out MB",
    ):
        table.add_column(column, justify="right")
    for establishments in args.rows:
        workdir = Path(tempfile.mkdtemp(prefix="bench_sample_"))
        try:
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_sample",
                    "--worker",
                    str(establishments),
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(workdir / "r"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        table.add_row(
            f"{establishments:,}",
            f"{figures['seconds']:.1f}",
            f"{establishments / figures['seconds']:,.0f}",
            f"{figures['cnpj_rows'] / figures['seconds']:,.0f}",
            f"{figures['sales']:,}",
            f"{figures['rss_mb']:.0f}",
            f"{figures['output_mb']:.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
