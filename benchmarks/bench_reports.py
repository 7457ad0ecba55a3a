"""Benchmark the infographic's analysis sections on a large analysis output folder.

    python -m benchmarks.bench_reports --prospects 200000 --categories 28 [--repeat 3]

Writes a contract-shaped folder (``prospects.parquet`` one row per prospect,
``prospect_categories.parquet`` one per prospect × category, ``potential_by_region``,
``metrics.json``) to a temporary lake, then times, ``--repeat`` times each:

* ``read``: ``AnalysisRun.read`` (the small files into DataFrames; the prospects stay in
  the lake);
* ``shortlist (all)`` / ``shortlist (1 category)``: ``AnalysisRun.top`` (DuckDB over the
  Parquet files) ranking every establishment over all the run's categories / re-summing
  one category from prospect × category rows, keeping the top 20 overall and per UF;
* ``regions``: per UF × channel, establishments counted once;
* ``sections``: the shortlist (overall + per UF) and region HTML for one category.

Prints the median and spread per step, and this process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from benchmarks.measure import peak_rss_mb
from flows.lake import Lake
from flows.reports import marketing
from flows.reports.prospects import AnalysisRun

UFS = ["SP", "RJ", "MG", "RS", "PR", "BA", "PE", "CE", "GO", "SC", "AM", "PA", "DF", "ES"]
CHANNELS = ["restaurant", "snack_bar", "bar", "supermarket", "minimarket", "wholesale"]


def write_folder(lake: Lake, folder: str, prospects: int, categories: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    names = [f"Categoria {c}" for c in range(categories)]
    uf = rng.integers(0, len(UFS), prospects)
    city = uf * 50 + rng.integers(0, 50, prospects)
    channel = rng.integers(0, len(CHANNELS), prospects)
    person = rng.random(prospects) < 0.4
    hashes = pd.Series(np.arange(prospects)).map("{:032x}".format)
    p_convert = rng.uniform(0.001, 0.6, prospects)
    spend = rng.gamma(2.0, 150.0, (prospects, categories))
    revenue = p_convert[:, None] * spend
    frame = pd.DataFrame(
        {
            "run_id": "bench",
            "cnpj_hash": hashes,
            "cnpj": np.where(person, None, pd.Series(np.arange(prospects)).map("{:014d}".format)),
            "trade_name": np.where(person, None, "Empório"),
            "legal_name": np.where(person, None, "COMERCIO LTDA"),
            "person_owned": person,
            "channel": np.array(CHANNELS)[channel],
            "uf": np.array(UFS)[uf],
            "ibge_code": city.astype(str),
            "city": pd.Series(city).map("Município {}".format),
            "neighbourhood": "CENTRO",
            "p_convert": p_convert,
            "expected_spend": spend.sum(axis=1),
            "expected_revenue": revenue.sum(axis=1),
            "revenue_low": revenue.sum(axis=1) * 0.6,
            "revenue_high": revenue.sum(axis=1) * 1.5,
            "likelihood": np.where(
                p_convert > 0.3, "alta", np.where(p_convert > 0.1, "média", "baixa")
            ),
        }
    )
    pq.write_table(pa.Table.from_pandas(frame), lake.writable_path(f"{folder}/prospects.parquet"))
    per_category = pa.table(
        {
            "run_id": pa.array(["bench"] * (prospects * categories)),
            "cnpj_hash": pa.array(np.repeat(hashes.to_numpy(), categories)),
            "category": pa.array(np.tile(names, prospects)),
            "p_convert": np.repeat(p_convert, categories),
            "expected_spend": spend.ravel(),
            "expected_revenue": revenue.ravel(),
            "revenue_low": revenue.ravel() * 0.6,
            "revenue_high": revenue.ravel() * 1.5,
        }
    )
    pq.write_table(per_category, lake.writable_path(f"{folder}/prospect_categories.parquet"))
    keys = frame.assign(category=[names] * prospects).explode("category")
    keys["expected_revenue"] = revenue.ravel()
    region = keys.groupby(["uf", "ibge_code", "city", "channel", "category"], as_index=False).agg(
        establishments=("cnpj_hash", "size"),
        prospects=("cnpj_hash", "size"),
        expected_revenue=("expected_revenue", "sum"),
    )
    region = region.assign(
        customers=0,
        predicted_value=region.expected_revenue,
        predicted_low=region.expected_revenue * 0.6,
        predicted_high=region.expected_revenue * 1.5,
        observed_sales=0.0,
    )
    pq.write_table(
        pa.Table.from_pandas(region), lake.writable_path(f"{folder}/potential_by_region.parquet")
    )
    metrics = {
        "run_id": "bench",
        "categories": names,
        "window": {"start": "2025-11", "end": "2026-10"},
    }
    lake.write_bytes(f"{folder}/metrics.json", json.dumps(metrics).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--categories", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bigd-bench-reports-") as scratch:
        lake = Lake.from_url(scratch)
        write_folder(lake, "out", args.prospects, args.categories)
        one = ["Categoria 0"]
        run = AnalysisRun.read(lake, "out")
        steps = {
            "read": lambda: AnalysisRun.read(lake, "out"),
            "shortlist (all)": lambda: run.top(None, 20),
            "shortlist (1 category)": lambda: run.top(one, 20),
            "regions": lambda: run.regions(one),
            "sections": lambda: (
                marketing.shortlist_section(run, one, 20),
                marketing.regions_section(run, one, 15),
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.repeat):
            for name, step in steps.items():
                clock = time.perf_counter()
                step()
                timings[name].append(time.perf_counter() - clock)
    table = Table(
        title=f"Report sections: {args.prospects:,} prospects × {args.categories} categories"
    )
    for column in ("step", "median s", "min s", "max s"):
        table.add_column(column, justify="right" if column != "step" else "left")
    for name, values in timings.items():
        table.add_row(
            name, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}"
        )
    console = Console()
    console.print(table)
    console.print(f"peak memory {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
