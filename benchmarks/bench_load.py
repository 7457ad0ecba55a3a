"""Benchmark warehouse loading: PostgreSQL COPY path vs pandas ``to_sql``, and DuckDB.

    python -m benchmarks.bench_load --rows 1000000 [--to-sql-rows 30000] [--sizes 1000000,2000000]

Writes ``--rows`` establishments (the 30 Receita columns + cnpj, municipio_ibge, cnpj_hash;
text-ish, dates as date32) as trusted Parquet, then runs each contender in a fresh
subprocess and reports rows/s and the subprocess's peak RSS:

- ``duckdb``: the full load (read Parquet directly, swap the release, reconcile);
- ``postgres-copy``: the full load (COPY FROM STDIN of streamed Arrow batches into staging,
  swap, reconcile), also timing the COPY stage alone;
- ``to_sql``: pandas ``DataFrame.to_sql`` with default settings into PostgreSQL, on the
  first ``--to-sql-rows`` rows (it is ~100x slower; rows/s is what is compared).

``--sizes`` repeats the two loaders at other sizes to show peak memory does not grow.
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

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from benchmarks.measure import peak_rss_mb

RELEASE = "2026-10"
CHUNK = 250_000
TEXT_COLUMNS = [
    "cnpj_basico", "cnpj_ordem", "cnpj_dv", "identificador_matriz_filial", "nome_fantasia",
    "situacao_cadastral", "motivo_situacao_cadastral", "nome_cidade_exterior", "pais",
    "cnae_fiscal_principal", "cnae_fiscal_secundaria", "tipo_logradouro", "logradouro", "numero",
    "complemento", "bairro", "cep", "uf", "municipio", "ddd_1", "telefone_1", "ddd_2",
    "telefone_2", "ddd_fax", "fax", "correio_eletronico", "situacao_especial",
]  # fmt: skip
# Receita widths (cep is the 5-digit prefix the scrub keeps); others default to 4 digits.
WIDTHS = {"cnpj_dv": 2, "motivo_situacao_cadastral": 2, "pais": 3, "cep": 5, "ddd_1": 2,
          "ddd_2": 2, "ddd_fax": 2, "telefone_1": 8, "telefone_2": 8, "fax": 8}  # fmt: skip
DATE_COLUMNS = ["data_situacao_cadastral", "data_inicio_atividade", "data_situacao_especial"]


def _digits(rng: np.random.Generator, rows: int, width: int) -> pa.Array:
    values = rng.integers(0, 10**width, rows)
    return pa.array(np.char.zfill(values.astype(str), width))


def establishments_chunk(start: int, rows: int, seed: int = 7) -> pa.Table:
    """``rows`` establishments; every text column has realistic width and variety."""
    rng = np.random.default_rng(seed + start)
    ids = np.arange(start, start + rows)
    basico = pa.array(np.char.zfill(ids.astype(str), 8))
    words = np.array(["BAR", "RESTAURANTE", "MERCADO", "PADARIA", "EMPORIO", "LANCHONETE"])
    columns: dict[str, pa.Array] = {}
    for name in TEXT_COLUMNS:
        columns[name] = _digits(rng, rows, WIDTHS.get(name, 4))
    columns["identificador_matriz_filial"] = pa.array(rng.choice(["1", "2"], rows))
    columns["bairro"] = pa.array(rng.choice(["CENTRO", "JARDIM AMÉRICA", "BOA VISTA"], rows))
    columns["cnpj_basico"] = basico
    columns["situacao_cadastral"] = pa.array(rng.choice(["02", "08", "04"], rows))
    columns["cnae_fiscal_principal"] = pa.array(rng.choice(["5611201", "4711302", "6201501"], rows))
    columns["nome_fantasia"] = pa.array(np.char.add(rng.choice(words, rows), ids.astype(str)))
    columns["logradouro"] = pa.array(np.char.add("RUA DAS FLORES ", ids.astype(str)))
    columns["uf"] = pa.array(rng.choice(["SP", "RJ", "MG", "BA"], rows))
    columns["cnae_fiscal_secundaria"] = pa.array(["4721102,5620104,4729699"] * rows)
    columns["correio_eletronico"] = pa.array(np.char.add(ids.astype(str), "@example.com"))
    epoch = np.datetime64("2000-01-01")
    for name in DATE_COLUMNS:
        days = rng.integers(0, 9000, rows)
        columns[name] = pa.array((epoch + days).astype("datetime64[D]"), pa.date32())
    columns["cnpj"] = pa.array(np.char.add(np.char.zfill(ids.astype(str), 8), "000199"))
    columns["municipio_ibge"] = _digits(rng, rows, 7)
    columns["cnpj_hash"] = pa.array(np.char.add("h", np.char.zfill(ids.astype(str), 31)))
    return pa.table(columns)


def write_lake(root: Path, rows: int) -> Path:
    """``trusted/cnpj/<release>/estabelecimentos/part-*.parquet``, written chunk by chunk."""
    folder = root / "trusted" / "cnpj" / RELEASE / "estabelecimentos"
    folder.mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, rows, CHUNK)):
        chunk = establishments_chunk(start, min(CHUNK, rows - start))
        pq.write_table(chunk, folder / f"part-{index:05d}.parquet")
    return root


def worker(kind: str, lake_root: str, url: str, rows: int) -> dict[str, float]:
    """One contender, in its own process."""
    from flows.lake import Lake
    from flows.warehouse import engine_for, load

    engine = engine_for(url, for_load=True)
    if kind == "to_sql":
        files = sorted((Path(lake_root) / "trusted/cnpj" / RELEASE / "estabelecimentos").glob("*"))
        frame = pq.read_table(files[0]).slice(0, rows).to_pandas()
        started = time.perf_counter()
        frame.to_sql("establishments_to_sql", engine, if_exists="replace", index=False)
        return {"seconds": time.perf_counter() - started, "rows": len(frame)}
    if kind == "duckdb":
        from flows.warehouse.duckdb import DuckDBLoader

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
    return {"seconds": seconds, "rows": loaded, "stage_seconds": stage_seconds}


def run_worker(kind: str, lake_root: Path, url: str, rows: int) -> dict[str, float]:
    """Run a contender in a fresh interpreter; returns its timings and peak RSS."""
    command = [sys.executable, "-m", "benchmarks.bench_load", "--worker", kind]
    command += ["--lake", str(lake_root), "--url", url, "--rows", str(rows)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{run.stderr[-3000:]}")
    output = run.stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--to-sql-rows", type=int, default=30_000)
    parser.add_argument(
        "--sizes", default="", help="extra sizes for the memory check, e.g. 2000000"
    )
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
        table = Table(title="Loading establishments (33 columns) into the warehouse")
        for column in (
            "contender",
            "rows",
            "seconds",
            "rows/s",
            "COPY stage rows/s",
            "peak RSS MB",
        ):
            table.add_column(column, justify="right" if column != "contender" else "left")
        rates: dict[str, float] = {}
        sizes = [args.rows] + [int(s) for s in args.sizes.split(",") if s.strip()]
        for size in sizes:
            lake = write_lake(workdir / f"lake-{size}", size)
            for kind in ("duckdb", "postgres-copy"):
                database = f"bench_{kind.replace('-', '_')}_{size}"
                server.psql(f"CREATE DATABASE {database};")
                url = server.get_uri(database).replace("postgresql://", "postgresql+psycopg2://")
                if kind == "duckdb":
                    url = f"duckdb:///{workdir / f'{database}.duckdb'}"
                result = run_worker(kind, lake, url, size)
                rate = result["rows"] / result["seconds"]
                rates.setdefault(kind, rate)
                # DuckDB's staging is a view over the Parquet: only the full load means anything.
                stage = (
                    "" if kind == "duckdb" else f"{result['rows'] / result['stage_seconds']:,.0f}"
                )
                table.add_row(
                    kind, f"{result['rows']:,}", f"{result['seconds']:.1f}", f"{rate:,.0f}",
                    stage, f"{result['peak_rss_mb']:,.0f}",
                )  # fmt: skip
            if size == args.rows:
                server.psql("CREATE DATABASE bench_to_sql;")
                url = server.get_uri("bench_to_sql").replace(
                    "postgresql://", "postgresql+psycopg2://"
                )
                result = run_worker("to_sql", lake, url, min(args.to_sql_rows, size))
                rates["to_sql"] = result["rows"] / result["seconds"]
                table.add_row(
                    "pandas to_sql (default)", f"{result['rows']:,}", f"{result['seconds']:.1f}",
                    f"{rates['to_sql']:,.0f}", "", f"{result['peak_rss_mb']:,.0f}",
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
