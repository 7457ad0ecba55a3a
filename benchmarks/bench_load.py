"""Benchmark warehouse loading: PostgreSQL COPY path vs pandas ``to_sql``, and DuckDB.

    python -m benchmarks.bench_load [--rows 5000000] [--to-sql-rows 30000] [--sizes 1000000]

Builds the trusted Parquet of ``--rows`` establishments the way a release gets it: the
Receita-format file of ``bench_cnpj`` (generated once, cached in ``benchmarks/out/``) run
through Big D's CNPJ ingestion and scrub. Then each contender runs in a fresh subprocess
that reports rows/s and its own peak RSS:

- ``duckdb``: the full load (read Parquet directly, swap the release, reconcile);
- ``duckdb-default``: the same with DuckDB's own compression choice for every column
  instead of ``core.sql``'s ``ENCODE ZSTD`` on the identifiers (the speed/size trade-off);
- ``postgres-copy``: the full load (COPY FROM STDIN of streamed Arrow batches into staging,
  swap, reconcile), also timing the COPY stage alone;
- ``to_sql``: pandas ``DataFrame.to_sql`` with default settings into PostgreSQL, on the
  first ``--to-sql-rows`` rows (it is ~100x slower; rows/s is what is compared).

``--sizes`` repeats the two loaders at other sizes to show peak memory does not grow.
Each contender runs ``--repeat`` times on an emptied warehouse; the median run is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.bench_cnpj import generate, ingest_zip
from benchmarks.measure import peak_rss_mb

RELEASE = "2026-10"


def write_lake(root: Path, rows: int) -> Path:
    """``trusted/cnpj/<release>/estabelecimentos/`` as Big D's own CNPJ ingestion writes it,
    from the Receita-format file of ``bench_cnpj`` (cached): same columns, types, scrubbed
    values (32-hex-digit ``cnpj_hash``, 5-digit CEP) and row groups as a real release."""
    root.mkdir(parents=True, exist_ok=True)
    table = f"trusted/cnpj/{RELEASE}/estabelecimentos"
    written, _ = ingest_zip(generate(rows), root, table)
    if written != rows:
        raise RuntimeError(f"the CNPJ ingestion wrote {written:,} of {rows:,} rows")
    _publish_manifests(root, table)
    return root


def _publish_manifests(root: Path, table: str) -> None:
    """The manifests a published release has (the loader reads only what they list)."""
    import pyarrow.parquet as pq

    from flows import layout
    from flows.lake import Lake

    lake = Lake.from_url(str(root))
    parts = [
        {"key": obj.key.rsplit("/", 1)[-1], "rows": pq.read_metadata(lake.path(obj.key)).num_rows}
        for obj in lake.list(table)
        if obj.key.endswith(".parquet")
    ]
    total = sum(part["rows"] for part in parts)
    layout.write_manifest(lake, table, {"release": RELEASE, "parts": parts, "rows": total})
    release = layout.cnpj_release_prefix("trusted", RELEASE)
    layout.write_manifest(
        lake, release, {"release": RELEASE, "tables": {"estabelecimentos": total}}
    )


def worker(kind: str, lake_root: str, url: str, rows: int) -> dict[str, float]:
    """One contender, in its own process."""
    from flows.lake import Lake
    from flows.warehouse import engine_for, load

    engine = engine_for(url, for_load=True)
    if kind == "to_sql":
        from flows.warehouse.merge import used_columns
        from flows.warehouse.tables import discover

        # The same columns the COPY path loads (those core.establishments takes).
        inputs = discover(Lake.from_url(lake_root), RELEASE)
        item = next(item for item in inputs if item.spec.name == "establishments")
        frame = next(item.only(used_columns(item)).batches(rows)).to_pandas()
        started = time.perf_counter()
        frame.to_sql("establishments_to_sql", engine, if_exists="replace", index=False)
        return {"seconds": time.perf_counter() - started, "rows": len(frame)}
    if kind.startswith("duckdb"):
        from flows.warehouse.duckdb import DuckDBLoader

        if kind == "duckdb-default":
            # For comparison: DuckDB's own compression choice for every column, i.e.
            # without core.sql's ENCODE ZSTD on the near-unique identifiers.
            from flows.warehouse import views

            views._DUCKDB_COMPRESSION.clear()
        loader = DuckDBLoader()
    else:
        from flows.warehouse.postgres import PostgresLoader

        loader = PostgresLoader()
    stage_seconds = 0.0
    original_stage = loader.stage

    def timed_stage(engine, item):
        nonlocal stage_seconds
        started = time.perf_counter()
        original_stage(engine, item)
        if item.spec.name == "establishments":
            stage_seconds = time.perf_counter() - started

    loader.stage = timed_stage  # type: ignore[method-assign]
    started = time.perf_counter()
    result = load(engine, Lake.from_url(lake_root), loader, RELEASE)
    seconds = time.perf_counter() - started
    loaded = next(r.loaded_rows for r in result.reconciliation if r.table == "core.establishments")
    figures = {"seconds": seconds, "rows": loaded, "stage_seconds": stage_seconds}
    if kind.startswith("duckdb"):
        engine.dispose()
        figures["file_mb"] = Path(engine.url.database).stat().st_size / 1e6
    return figures


def run_worker(
    kind: str, lake_root: Path, url: str, rows: int, repeat: int, reset: Callable[[], None]
) -> dict[str, float]:
    """Run a contender ``repeat`` times, each in a fresh interpreter on an emptied warehouse
    (``reset``, also run at the end); returns the median run's timings and peak RSS."""
    runs = []
    for _ in range(repeat):
        reset()
        os.sync()  # nobody pays for an earlier run's disk writeback
        command = [sys.executable, "-m", "benchmarks.bench_load", "--worker", kind]
        command += ["--lake", str(lake_root), "--url", url, "--rows", str(rows)]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"{kind} failed:\n{run.stderr[-3000:]}")
        runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    reset()  # leave no table behind for PostgreSQL's autovacuum to work on during later runs
    return sorted(runs, key=lambda figures: figures["seconds"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--to-sql-rows", type=int, default=30_000)
    parser.add_argument(
        "--sizes", default="", help="extra sizes for the memory check, e.g. 2000000"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (median)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.lake, args.url, args.rows)
        print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
        return

    import pgserver

    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="bigd-bench-load-"))
    server = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
    try:
        table = Table(
            title="Loading trusted establishments into the warehouse "
            f"(median of {args.repeat} runs each)"
        )
        for column in (
            "contender",
            "rows",
            "seconds",
            "rows/s",
            "COPY stage rows/s",
            "peak RSS MB",
            "DuckDB file MB",
        ):
            table.add_column(column, justify="right" if column != "contender" else "left")
        rates: dict[str, float] = {}

        def target(name: str) -> tuple[str, Callable[[], None]]:
            """A warehouse URL for a contender, and how to empty it before each run."""
            if name.startswith("bench_duckdb"):
                path = workdir / f"{name}.duckdb"
                return f"duckdb:///{path}", lambda: [
                    p.unlink(missing_ok=True) for p in (path, path.with_suffix(".duckdb.wal"))
                ]
            url = server.get_uri(name).replace("postgresql://", "postgresql+psycopg2://")
            return url, lambda: server.psql(
                f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"
            )

        sizes = [args.rows] + [int(s) for s in args.sizes.split(",") if s.strip()]
        for size in sizes:
            lake = write_lake(workdir / f"lake-{size}", size)
            kinds = ["duckdb", "postgres-copy"]
            if size == args.rows:
                kinds.insert(1, "duckdb-default")
            for kind in kinds:
                url, reset = target(f"bench_{kind.replace('-', '_')}_{size}")
                result = run_worker(kind, lake, url, size, args.repeat, reset)
                rate = result["rows"] / result["seconds"]
                rates.setdefault(kind, rate)
                # DuckDB's staging is a view over the Parquet: only the full load means anything.
                stage = (
                    ""
                    if "file_mb" in result
                    else f"{result['rows'] / result['stage_seconds']:,.0f}"
                )
                file_mb = f"{result['file_mb']:,.0f}" if "file_mb" in result else ""
                label = {"duckdb-default": "duckdb (DuckDB's default compression)"}.get(kind, kind)
                table.add_row(
                    label, f"{result['rows']:,}", f"{result['seconds']:.1f}", f"{rate:,.0f}",
                    stage, f"{result['peak_rss_mb']:,.0f}", file_mb,
                )  # fmt: skip
            if size == args.rows:
                url, reset = target("bench_to_sql")
                to_sql_rows = min(args.to_sql_rows, size)
                result = run_worker("to_sql", lake, url, to_sql_rows, args.repeat, reset)
                rates["to_sql"] = result["rows"] / result["seconds"]
                table.add_row(
                    "pandas to_sql (default)", f"{result['rows']:,}", f"{result['seconds']:.1f}",
                    f"{rates['to_sql']:,.0f}", "", f"{result['peak_rss_mb']:,.0f}", "",
                )  # fmt: skip
            shutil.rmtree(lake)
        console.print(table)
        console.print(
            f"PostgreSQL COPY path vs to_sql: {rates['postgres-copy'] / rates['to_sql']:.1f}x "
            f"(target >= 15x); DuckDB {rates['duckdb']:,.0f} rows/s (target >= 1,000,000)"
        )
    finally:
        server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
