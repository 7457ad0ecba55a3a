"""Public-data ingestion speed: ``python -m benchmarks.bench_public --rows 200000``.

Writes a POF-format CSV (Latin-1, ';', decimal comma) of ``--rows`` rows, then times each
stage of ingesting it: fetch into the raw zone, read + validate (pyarrow + pandera), scrub,
and the atomic Parquet write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.lake import Lake
from flows.scrub import scrub_table
from flows.sources.public import fetch, load_catalog, plan, read_and_validate
from flows.sources.public.ingest import write_trusted

CATEGORIES = ["Feijão", "Arroz", "Cerveja", "Vinho", "Café", "Carne", "Chocolate"]


def write_pof(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = ["UF;ESTRATO_POF;COD_UPA;NUM_DOM;NUM_UC;CATEGORIA;V8000_DEFLA;PESO_FINAL;RENDA_TOTAL"]
    for index in range(rows):
        household, category = divmod(index, len(CATEGORIES))
        uf = rng.choice([11, 21, 29, 31, 33, 35, 41, 43, 52, 53])
        spending = f"{rng.uniform(1, 5000):.2f}".replace(".", ",")
        weight = f"{rng.uniform(10, 3000):.4f}".replace(".", ",")
        income = f"{rng.uniform(500, 30000):.2f}".replace(".", ",")
        lines.append(
            f"{uf};{uf}01;{uf}{household:07d};1;1;{CATEGORIES[category]};"
            f"{spending};{weight};{income}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def run(rows: int, seed: int) -> Table:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_pof(root / "release" / "public" / "pof_despesa_alimentar.csv", rows, seed)
        lake = Lake.from_url(str(root / "lake"))
        [planned] = plan(load_catalog(), "pof_food_spending", str(root / "release"))
        timings: list[tuple[str, float]] = []

        started = time.perf_counter()
        raw = fetch(planned, lake, dt.date.today())
        timings.append(("fetch to raw/", time.perf_counter() - started))
        data = lake.read_bytes(raw)
        started = time.perf_counter()
        table, _ = read_and_validate(planned.name, planned.entry, data)
        timings.append(("read + validate", time.perf_counter() - started))
        started = time.perf_counter()
        clean, _ = scrub_table(f"public.{planned.name}", table, key=b"benchmark-key" * 3)
        timings.append(("scrub", time.perf_counter() - started))
        started = time.perf_counter()
        write_trusted(lake, planned.name, clean)
        timings.append(("write Parquet", time.perf_counter() - started))

    result = Table(title=f"ingest_public, POF format, {rows:,} rows ({len(data) / 1e6:.1f} MB)")
    result.add_column("stage")
    result.add_column("seconds", justify="right")
    result.add_column("rows/s", justify="right")
    for stage, seconds in [*timings, ("total", sum(s for _, s in timings))]:
        result.add_row(stage, f"{seconds:.3f}", f"{rows / seconds:,.0f}" if seconds else "-")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the POF file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    Console().print(run(args.rows, args.seed))


if __name__ == "__main__":
    main()
