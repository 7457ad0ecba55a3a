"""Analysis output folders for the tests that need one but no analysis run (publishing,
faults, reports, the publish benchmark): the files of docs/analysis.md (``metrics.json``,
``prospects.parquet`` one row per prospect establishment, ``prospect_categories.parquet``
one per establishment × category, ``top_prospects.parquet``, ``potential_by_region.parquet``
with distinct establishment counts, ``model_card.md``), typed with the schemas
``run_analysis`` writes (``flows.analysis.outputs``).

Everything is derived from one generated population of establishments (``population``),
so a test can recount establishments, ranks and sums independently of the code under
test. ``prospects`` sets the exact number of prospects; ``repeat`` copies the regions
under other municipality codes (more ``potential_by_region`` rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.analysis import outputs
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
PROSPECTS = 128  # with 32 customers: 160 establishments
SCORE_COLUMNS = ["p_convert", "expected_spend", "expected_revenue", "revenue_low", "revenue_high"]


@dataclass(frozen=True)
class Population:
    """The generated establishments (one row each) and their per-category scores."""

    establishments: pd.DataFrame  # cnpj_hash, uf, ibge_code, city, channel, customer, ...
    scores: pd.DataFrame  # cnpj_hash, category, p_convert, expected_spend


def population(prospects: int = PROSPECTS, seed: int = 7) -> Population:
    """``prospects`` non-customers plus one customer for every four of them (every fifth
    establishment), spread over every region and channel; a third of them individual
    entrepreneurs (no CNPJ, no name), some legal entities without a trade name."""
    size = prospects + (prospects + 3) // 4
    number = np.arange(size)
    rng = np.random.default_rng(seed)
    region = (number + number // 5) % len(REGIONS)  # customers in every region too
    person = number % 3 == 0
    establishments = pd.DataFrame(
        {
            "cnpj_hash": [hashlib.sha256(f"bigd-test-{n}".encode()).hexdigest() for n in number],
            "cnpj": [None if p else f"{11_222_333 + n:08d}0001{n % 100:02d}"
                     for n, p in zip(number, person, strict=True)],
            "trade_name": [None if p or n % 4 == 1 else f"Empório {n}"
                           for n, p in zip(number, person, strict=True)],
            "legal_name": [None if p else f"COMERCIO {n} LTDA"
                           for n, p in zip(number, person, strict=True)],
            "person_owned": person,
            "channel": [CHANNELS[n] for n in (number // 2) % len(CHANNELS)],
            "uf": [REGIONS[r][0] for r in region],
            "ibge_code": [REGIONS[r][1] for r in region],
            "city": [REGIONS[r][2] for r in region],
            "neighbourhood": [NEIGHBOURHOODS[n] for n in number % len(NEIGHBOURHOODS)],
            "customer": number % 5 == 0,
        }
    )  # fmt: skip
    p_convert = np.round(rng.uniform(0.01, 0.9, size), 4)  # one per establishment
    scores = pd.DataFrame(
        {
            "cnpj_hash": np.repeat(establishments["cnpj_hash"].to_numpy(), len(CATEGORIES)),
            "category": np.tile(CATEGORIES, size),
            "p_convert": np.repeat(p_convert, len(CATEGORIES)),
            "expected_spend": np.round(rng.uniform(20, 3000, size * len(CATEGORIES)), 2),
        }
    )
    return Population(establishments, scores)


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
        "cv": {"folds": 5, "strategy": "grouped by establishment"},
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


def tables(
    run_id: str, people: Population, top_n: int = 20, repeat: int = 1
) -> dict[str, pa.Table]:
    """The four tables of a run, typed as ``run_analysis`` types them."""
    est = people.establishments
    scores = people.scores.assign(expected_revenue=lambda s: s.p_convert * s.expected_spend)
    scores = scores.assign(
        revenue_low=scores.expected_revenue * 0.6, revenue_high=scores.expected_revenue * 1.5
    )
    prospect_ids = est.loc[~est.customer, "cnpj_hash"]
    per_category = scores[scores.cnpj_hash.isin(prospect_ids)]
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
    by_hash = prospects.set_index("cnpj_hash")
    identity = by_hash.drop(columns=[*SCORE_COLUMNS, "rank"]).reset_index()
    top = [prospects.head(top_n).assign(scope="overall", category=None)]
    place = ["uf", "ibge_code", "city", "channel"]
    region = est.groupby(place).agg(
        establishments=("cnpj_hash", "nunique"), customers=("customer", "sum")
    )
    potential = []
    for category in CATEGORIES:
        scored = per_category[per_category.category == category].merge(
            est[["cnpj_hash", *place]], on="cnpj_hash"
        )
        ranked = scored.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
        for _, group in ranked.groupby("uf"):  # the category's scores, ranked in the UF
            best = group.head(top_n)[["cnpj_hash", *SCORE_COLUMNS]].merge(identity, on="cnpj_hash")
            best = best.assign(scope="uf_category", category=category)
            best["rank"] = range(1, len(best) + 1)
            top.append(best)
        predicted = scored.groupby(place).agg(
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
    one_copy = pd.concat(potential, ignore_index=True)
    copies = [
        one_copy.assign(ibge_code=one_copy.ibge_code.map(lambda c, k=k: f"{int(c) + k:07d}"))
        for k in range(repeat)
    ]
    top_prospects = pd.concat(top, ignore_index=True)
    top_prospects["rank_overall"] = top_prospects.cnpj_hash.map(by_hash["rank"])
    frames = {
        outputs.POTENTIAL_FILE: (pd.concat(copies, ignore_index=True), outputs.POTENTIAL_SCHEMA),
        outputs.PROSPECTS_FILE: (prospects, outputs.PROSPECTS_SCHEMA),
        outputs.PROSPECT_CATEGORIES_FILE: (per_category, outputs.PROSPECT_CATEGORIES_SCHEMA),
        outputs.TOP_PROSPECTS_FILE: (top_prospects, outputs.TOP_PROSPECTS_SCHEMA),
    }
    return {
        name: outputs.to_table(frame, schema, run_id, SCORED_AT, "ensemble")
        for name, (frame, schema) in frames.items()
    }


def potential_table(run_id: str, repeat: int = 1) -> pa.Table:
    """potential_by_region of the default population."""
    return tables(run_id, population(), repeat=repeat)[outputs.POTENTIAL_FILE]


def prospects_table(run_id: str, count: int = 12) -> pa.Table:
    """prospects.parquet with ``count`` prospects, ranked by expected revenue."""
    return tables(run_id, population(count))[outputs.PROSPECTS_FILE]


@dataclass(frozen=True)
class Written:
    """What ``write_outputs`` wrote: the messages a publish makes of it, per topic kind,
    and the population it was derived from."""

    messages: dict[str, int]
    people: Population


def write_outputs(
    lake: Lake,
    folder: str,
    run_id: str = "run-20261130-a1",
    repeat: int = 1,
    prospects: int = PROSPECTS,
) -> Written:
    """Write the output folder of one analysis run."""
    people = population(prospects)
    written = tables(run_id, people, repeat=repeat)
    for name, table in written.items():
        pq.write_table(table, lake.writable_path(f"{folder}/{name}"), filesystem=lake.filesystem)
    lake.write_bytes(f"{folder}/metrics.json", json.dumps(metrics(run_id, prospects)).encode())
    lake.write_bytes(
        f"{folder}/model_card.md",
        b"# Ficha do modelo\n\n## Uso pretendido\n\nOrdenar prospects pela receita mensal "
        b"esperada.\n",
    )
    messages = {
        "model-metrics": 1,
        "potential": written[outputs.POTENTIAL_FILE].num_rows,
        "prospects": written[outputs.PROSPECTS_FILE].num_rows,
    }
    return Written(messages, people)
