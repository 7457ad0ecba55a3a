"""An analysis output folder in the shape of the helpers' CONTRACT (docs/analysis.md):
``metrics.json`` with ``conversion``/``interval``/plain headline keys,
``prospects.parquet`` (one row per establishment), ``prospect_categories.parquet``
(establishment × category), ``top_prospects.parquet`` and ``potential_by_region.parquet``
with distinct establishment counts, plus ``model_card.md``.

Everything is derived from one generated population of establishments (``population``),
so tests can recount establishments, ranks and sums independently of the report code.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake import Lake

SCORED_AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
REGIONS = [
    ("SP", "3550308", "São Paulo"),
    ("SP", "3509502", "Campinas"),
    ("RJ", "3304557", "Rio de Janeiro"),
    ("MG", "3106200", "Belo Horizonte"),
    ("AC", "1200401", "Rio Branco"),
]
CHANNELS = ["restaurant", "bar", "minimarket", "wholesale"]
CATEGORIES = ["Cerveja", "Vinho", "Arroz"]
NEIGHBOURHOODS = ["CENTRO", "JARDIM PAULISTA", "VILA DA SAUDE", None]


@dataclass(frozen=True)
class Population:
    """The generated establishments (one row each) and their per-category scores."""

    establishments: pd.DataFrame  # cnpj_hash, uf, ibge_code, city, channel, customer, ...
    scores: pd.DataFrame  # cnpj_hash, category, p_convert, expected_spend


def population(size: int = 160, seed: int = 7) -> Population:
    rng = random.Random(seed)
    rows, scores = [], []
    for number in range(size):
        uf, ibge, city = REGIONS[number % len(REGIONS)]
        person = number % 3 == 0
        digits = f"{11_222_333 + number:08d}0001{number % 100:02d}"
        rows.append(
            {
                "cnpj_hash": f"{number * 7919 % 100_003:032x}",
                "cnpj": None if person else digits,
                "trade_name": None if person or number % 4 == 1 else f"Empório {number}",
                "legal_name": None if person else f"COMERCIO {number} LTDA",
                "person_owned": person,
                "channel": CHANNELS[(number // 2) % len(CHANNELS)],
                "uf": uf,
                "ibge_code": ibge,
                "city": city,
                "neighbourhood": NEIGHBOURHOODS[number % len(NEIGHBOURHOODS)],
                "customer": number % 5 == 0,
            }
        )
        p_convert = round(rng.uniform(0.01, 0.9), 4)  # becoming a customer: one per place
        for category in CATEGORIES:
            scores.append(
                {
                    "cnpj_hash": rows[-1]["cnpj_hash"],
                    "category": category,
                    "p_convert": p_convert,
                    "expected_spend": round(rng.uniform(20, 3000), 2),
                }
            )
    return Population(pd.DataFrame(rows), pd.DataFrame(scores))


def likelihood(p: float, base_rate: float = 0.2) -> str:
    """The analysis's rule: alta ≥ 3 × the base rate, média ≥ the base rate."""
    return "alta" if p >= 3 * base_rate else "média" if p >= base_rate else "baixa"


def metrics(run_id: str, prospects: int) -> dict:
    stat = {"mean": 812.4, "std": 40.0}
    shares = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    return {
        "run_id": run_id,
        "release": "2026-11",
        "categories": CATEGORIES,
        "window": {"start": "2025-11", "end": "2026-10"},
        "rows": {"train": 800, "holdout": 200},
        "cv": {"folds": 5, "strategy": "grouped by UF"},
        "models": {
            name: {"rmse": stat, "mae": stat, "r2": {"mean": 0.6, "std": 0.05}}
            for name in ("baseline", "lightgbm", "random_forest", "ensemble")
        },
        "holdout": {"ensemble_rmse": 790.0, "ensemble_r2": 0.62},
        "ensemble_weights": {"lightgbm": 0.6, "random_forest": 0.4},
        "conversion": {
            "hidden_share": 0.2,
            "hidden_customers": 40,
            "candidates": 400,
            "top_decile_lift": 3.1,
            "auc": 0.81,
            "gains": [
                {
                    "share_called": share,
                    "customers_reached": round(min(1.0, share**0.5), 3),
                    "revenue_reached": round(min(1.0, share**0.4), 3),
                }
                for share in shares
            ],
        },
        "interval": {"nominal": 0.8, "coverage": 0.78, "basis": "held-out customers"},
        "headline": {
            "ensemble_rmse": 781.747,
            "baseline_rmse": 1020.5,
            "improvement_vs_baseline": 0.234,
            "ensemble_r2": 0.62,
            "prospects_scored": prospects,
            "top_decile_lift": 3.1,
            "auc": 0.81,
            "top10_customers_reached": round(0.1**0.5, 3),
            "top10_revenue_reached": round(0.1**0.4, 3),
            "typical_error_brl_month": 412.35,
        },
    }


def tables(run_id: str, people: Population, top_n: int = 20) -> dict[str, pd.DataFrame]:
    est = people.establishments
    scores = people.scores.assign(expected_revenue=lambda s: s.p_convert * s.expected_spend)
    scores = scores.assign(
        revenue_low=scores.expected_revenue * 0.6, revenue_high=scores.expected_revenue * 1.5
    )
    prospect_ids = est.loc[~est.customer, "cnpj_hash"]
    per_category = scores[scores.cnpj_hash.isin(prospect_ids)].assign(run_id=run_id)
    totals = per_category.groupby("cnpj_hash", as_index=False).agg(
        expected_spend=("expected_spend", "sum"),
        expected_revenue=("expected_revenue", "sum"),
        revenue_low=("revenue_low", "sum"),
        revenue_high=("revenue_high", "sum"),
        p_convert=("p_convert", "first"),
    )
    prospects = est[~est.customer].drop(columns="customer").merge(totals, on="cnpj_hash")
    prospects = prospects.sort_values(
        ["expected_revenue", "cnpj_hash"], ascending=[False, True]
    ).reset_index(drop=True)
    prospects["rank"] = range(1, len(prospects) + 1)
    prospects["rank_in_uf"] = prospects.groupby("uf").cumcount() + 1
    prospects["likelihood"] = prospects.p_convert.map(likelihood)
    prospects = prospects.assign(run_id=run_id, scored_at=SCORED_AT, model="ensemble")
    top = [prospects.head(top_n).assign(scope="overall", category=None, uf_scope=None)]
    potential = []
    for category in CATEGORIES:
        scored = per_category[per_category.category == category].merge(
            est[["cnpj_hash", "uf", "ibge_code", "city", "channel"]], on="cnpj_hash"
        )
        ranked = scored.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
        for uf, group in ranked.groupby("uf"):
            best = prospects.set_index("cnpj_hash").loc[group.cnpj_hash.head(top_n)].reset_index()
            best = best.assign(scope="uf_category", category=category, uf_scope=uf)
            best["rank"] = range(1, len(best) + 1)
            top.append(best)
        keys = ["uf", "ibge_code", "city", "channel"]
        region = est.groupby(keys).agg(
            establishments=("cnpj_hash", "nunique"), customers=("customer", "sum")
        )
        predicted = scored.groupby(keys).agg(
            prospects=("cnpj_hash", "nunique"),
            predicted_value=("expected_spend", "sum"),
            expected_revenue=("expected_revenue", "sum"),
            mean_p_convert=("p_convert", "mean"),
            predicted_low=("revenue_low", "sum"),
            predicted_high=("revenue_high", "sum"),
        )
        rows = region.join(predicted).reset_index()
        sums = ["prospects", "predicted_value", "expected_revenue", "predicted_low"]
        rows = rows.fillna(dict.fromkeys([*sums, "predicted_high", "mean_p_convert"], 0))
        rows["observed_sales"] = rows.customers * 150.0
        potential.append(rows.assign(category=category))
    top_prospects = pd.concat(top).drop(columns="uf").rename(columns={"uf_scope": "uf"})
    top_prospects["uf"] = top_prospects["uf"].where(top_prospects.scope != "overall")
    overall_uf = prospects.set_index("cnpj_hash")["uf"]
    top_prospects["prospect_uf"] = top_prospects.cnpj_hash.map(overall_uf)
    region_rows = pd.concat(potential).assign(run_id=run_id, scored_at=SCORED_AT, model="ensemble")
    return {
        "prospects": prospects,
        "prospect_categories": per_category,
        "top_prospects": top_prospects,
        "potential_by_region": region_rows,
    }


def write_contract_outputs(
    lake: Lake, folder: str, run_id: str = "run-20261130-a1", size: int = 160
) -> Population:
    """Write the folder; returns the population it was derived from."""
    people = population(size)
    frames = tables(run_id, people)
    for name, frame in frames.items():
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False),
            lake.writable_path(f"{folder}/{name}.parquet"),
            filesystem=lake.filesystem,
        )
    lake.write_bytes(
        f"{folder}/metrics.json",
        json.dumps(metrics(run_id, len(frames["prospects"]))).encode(),
    )
    lake.write_bytes(
        f"{folder}/model_card.md",
        b"# Model card\n\n## Intended use\n\nRank prospects by expected monthly revenue.\n",
    )
    return people
