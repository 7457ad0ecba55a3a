"""Small analysis output folders in exactly the schemas ``run_analysis`` writes
(``metrics.json``, ``potential_by_region.parquet``, ``top_prospects.parquet``, the schemas
taken from ``flows.analysis.outputs``), so the delivery tests need no analysis run."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq

from flows.analysis.outputs import POTENTIAL_SCHEMA, PROSPECTS_SCHEMA
from flows.lake import Lake

SCORED_AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
REGIONS = [
    ("SP", "3550308", "São Paulo"),
    ("RJ", "3304557", "Rio de Janeiro"),
    ("MG", "3106200", "Belo Horizonte"),
    ("RS", "4314902", "Porto Alegre"),
    ("BA", "2927408", "Salvador"),
]
CHANNELS = ["restaurant", "bar", "supermarket"]
CATEGORIES = ["Cerveja", "Vinho"]


def metrics(run_id: str, prospects: int) -> dict:
    stat = {"mean": 1.5, "std": 0.2}
    return {
        "run_id": run_id,
        "release": "2026-11",
        "categories": CATEGORIES,
        "window": {"start": "2025-11-01", "end": "2026-10-31"},
        "rows": {"train": 800, "holdout": 200},
        "cv": {"folds": 5, "strategy": "grouped by UF"},
        "models": {
            name: {"rmse": stat, "mae": stat, "r2": {"mean": 0.6, "std": 0.05}}
            for name in ("baseline", "lightgbm", "random_forest", "ensemble")
        },
        "holdout": {"ensemble_rmse": 1.4, "ensemble_r2": 0.62},
        "ensemble_weights": {"lightgbm": 0.6, "random_forest": 0.4},
        "headline": {
            "ensemble_rmse": 1.41,
            "baseline_rmse": 2.05,
            "improvement_vs_baseline": 0.312,
            "ensemble_r2": 0.62,
            "prospects_scored": prospects,
        },
    }


def potential_table(run_id: str, repeat: int = 1) -> pa.Table:
    rows = []
    combos = list(itertools.product(REGIONS, CHANNELS, CATEGORIES))
    for copy in range(repeat):
        for index, ((uf, ibge, city), channel, category) in enumerate(combos):
            code = ibge if copy == 0 else f"{int(ibge) + copy:07d}"
            value = 1000.0 + 137.5 * index + copy
            rows.append(
                {
                    "run_id": run_id,
                    "scored_at": SCORED_AT,
                    "uf": uf,
                    "ibge_code": code,
                    "city": city,
                    "channel": channel,
                    "category": category,
                    "establishments": 10 + index,
                    "customers": index % 4,
                    "predicted_value": value,
                    "predicted_low": value * 0.8,
                    "predicted_high": value * 1.2,
                    "observed_sales": None if index % 5 == 0 else value * 0.5,
                    "model": "ensemble",
                }
            )
    return pa.Table.from_pylist(rows, schema=POTENTIAL_SCHEMA)


def prospects_table(run_id: str, count: int = 12) -> pa.Table:
    rows = []
    for rank in range(1, count + 1):
        uf, ibge, city = REGIONS[rank % len(REGIONS)]
        score = 5000.0 / rank
        rows.append(
            {
                "run_id": run_id,
                "scored_at": SCORED_AT,
                "prospect_rank": rank,
                "cnpj_hash": f"{rank:064x}",
                "nome_fantasia": f"Bar do Zé {rank}",
                "channel": CHANNELS[rank % len(CHANNELS)],
                "category": CATEGORIES[rank % 2],
                "uf": uf,
                "ibge_code": ibge,
                "city": city,
                "neighbourhood": ["Centro", "Moema", "Savassi", None][rank % 4],
                "score": score,
                "predicted_low": score * 0.7,
                "predicted_high": score * 1.3,
                "model": "ensemble",
            }
        )
    return pa.Table.from_pylist(rows, schema=PROSPECTS_SCHEMA)


def write_outputs(
    lake: Lake, folder: str, run_id: str = "run-20261130-a1", repeat: int = 1, prospects: int = 12
) -> dict[str, int]:
    """Write an output folder; returns the expected message count per topic kind."""
    potential = potential_table(run_id, repeat)
    ranked = prospects_table(run_id, prospects)
    lake.write_bytes(f"{folder}/metrics.json", json.dumps(metrics(run_id, prospects)).encode())
    pq.write_table(
        potential,
        lake.writable_path(f"{folder}/potential_by_region.parquet"),
        filesystem=lake.filesystem,
    )
    pq.write_table(
        ranked, lake.writable_path(f"{folder}/top_prospects.parquet"), filesystem=lake.filesystem
    )
    return {"model-metrics": 1, "potential": potential.num_rows, "prospects": ranked.num_rows}
