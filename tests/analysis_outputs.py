"""Small analysis output folders in exactly the schemas ``run_analysis`` writes
(``metrics.json``, ``potential_by_region.parquet``, ``prospects.parquet``,
``prospect_categories.parquet``, ``top_prospects.parquet``, the schemas taken from
``flows.analysis.outputs``), so the delivery tests need no analysis run."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq

from flows.analysis.outputs import (
    POTENTIAL_SCHEMA,
    PROSPECT_CATEGORIES_SCHEMA,
    PROSPECTS_SCHEMA,
    TOP_PROSPECTS_SCHEMA,
)
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
            "top_decile_lift": 4.1,
            "auc": 0.83,
            "top10_customers_reached": 0.41,
            "top10_revenue_reached": 0.47,
            "typical_error_brl_month": 850.0,
        },
        "conversion": {
            "hidden_share": 0.2,
            "hidden_customers": 50,
            "candidates": 1000,
            "top_decile_lift": 4.1,
            "auc": 0.83,
            "gains": [
                {"share_called": s, "customers_reached": min(1.0, 4 * s), "revenue_reached": s}
                for s in (0.1, 0.5, 1.0)
            ],
        },
        "interval": {"nominal": 0.8, "coverage": 0.78, "basis": "hidden customers"},
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
                    "prospects": 10 + index - index % 4,
                    "predicted_value": value,
                    "expected_revenue": value * 0.1,
                    "mean_p_convert": 0.1,
                    "predicted_low": value * 0.8,
                    "predicted_high": value * 1.2,
                    "observed_sales": None if index % 5 == 0 else value * 0.5,
                    "model": "ensemble",
                }
            )
    return pa.Table.from_pylist(rows, schema=POTENTIAL_SCHEMA)


def _prospect(rank: int) -> dict:
    uf, ibge, city = REGIONS[rank % len(REGIONS)]
    spend = 50_000.0 / rank
    person = rank % 3 == 0
    return {
        "cnpj_hash": f"{rank:064x}",
        "cnpj": None if person else f"{rank:08d}000190",
        "trade_name": None if person else f"Bar do Zé {rank}",
        "legal_name": None,
        "person_owned": person,
        "channel": CHANNELS[rank % len(CHANNELS)],
        "uf": uf,
        "ibge_code": ibge,
        "city": city,
        "neighbourhood": ["Centro", "Moema", "Savassi", None][rank % 4],
        "p_convert": 0.1,
        "expected_spend": spend,
        "expected_revenue": spend * 0.1,
        "revenue_low": spend * 0.07,
        "revenue_high": spend * 0.13,
        "likelihood": "média",
    }


def prospects_table(run_id: str, count: int = 12) -> pa.Table:
    """prospects.parquet: one row per prospect, ranked by expected revenue."""
    rows = []
    seen_in_uf: dict[str, int] = {}
    for rank in range(1, count + 1):
        prospect = _prospect(rank)
        rank_in_uf = seen_in_uf[prospect["uf"]] = seen_in_uf.get(prospect["uf"], 0) + 1
        rows.append(
            {
                "run_id": run_id,
                "scored_at": SCORED_AT,
                **prospect,
                "rank": rank,
                "rank_in_uf": rank_in_uf,
                "model": "prospects",
            }
        )
    return pa.Table.from_pylist(rows, schema=PROSPECTS_SCHEMA)


def top_prospects_table(prospects: pa.Table, top_n: int = 5) -> pa.Table:
    """The overall scope of the shortlist."""
    rows = [
        {**row, "scope": "overall", "category": None, "rank_overall": row["rank"]}
        for row in prospects.to_pylist()[:top_n]
    ]
    return pa.Table.from_pylist(rows, schema=TOP_PROSPECTS_SCHEMA)


def prospect_categories_table(prospects: pa.Table) -> pa.Table:
    rows = [
        {
            "run_id": row["run_id"],
            "cnpj_hash": row["cnpj_hash"],
            "category": category,
            "p_convert": row["p_convert"],
            "expected_spend": row["expected_spend"] / 2,
            "expected_revenue": row["expected_revenue"] / 2,
            "revenue_low": row["revenue_low"] / 2,
            "revenue_high": row["revenue_high"] / 2,
        }
        for row in prospects.to_pylist()
        for category in CATEGORIES
    ]
    return pa.Table.from_pylist(rows, schema=PROSPECT_CATEGORIES_SCHEMA)


def write_outputs(
    lake: Lake, folder: str, run_id: str = "run-20261130-a1", repeat: int = 1, prospects: int = 12
) -> dict[str, int]:
    """Write an output folder; returns the expected message count per topic kind."""
    potential = potential_table(run_id, repeat)
    ranked = prospects_table(run_id, prospects)
    lake.write_bytes(f"{folder}/metrics.json", json.dumps(metrics(run_id, prospects)).encode())
    for name, table in (
        ("potential_by_region", potential),
        ("prospects", ranked),
        ("top_prospects", top_prospects_table(ranked)),
        ("prospect_categories", prospect_categories_table(ranked)),
    ):
        pq.write_table(
            table, lake.writable_path(f"{folder}/{name}.parquet"), filesystem=lake.filesystem
        )
    lake.write_bytes(f"{folder}/model_card.md", b"# Model card\n")
    return {"model-metrics": 1, "potential": potential.num_rows, "prospects": ranked.num_rows}
