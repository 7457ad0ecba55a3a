"""Scoring prospects in chunks: P(convert), expected monthly spend as a customer and
expected revenue, per prospect × category and per prospect, with an interval.

    expected_spend[category] = purchase rate of the channel for the category (months
        with a purchase / customer-months, so months without one count) × the spend
        ensemble's value of a month's purchase (the baseline for a thin category)
    expected_revenue = P(convert) × expected_spend          (R$ per month)

``score_chunk`` is pure (a chunk of establishments + the fitted models in, frames out),
so the chunks can be mapped anywhere; ``score_in_chunks`` streams the per-category rows
to a Parquet file and keeps only what is small: one row per prospect, the running
top N per UF × category, and regional sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flows.analysis import features as F

if TYPE_CHECKING:
    from flows.analysis.conversion import ConversionModel
    from flows.analysis.models import Ensemble, MedianBaseline

MODEL_ID = "prospects/2: conversion lookalike x demand ensemble"
REGION_KEYS = ["uf", "ibge_code", "city", "channel", "category"]
INTERVAL = (0.10, 0.90)
IDENTITY = ["cnpj_hash", "channel", "uf", "ibge_code", "city", "neighbourhood"]
CATEGORY_COLUMNS = [
    "cnpj_hash",
    "category",
    "p_convert",
    "expected_spend",
    "expected_revenue",
    "revenue_low",
    "revenue_high",
]


def interval_factors(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Multipliers (low, high) of a prediction covering 80 % of the given outcomes."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    valid = (observed > 0) & (predicted > 0)
    if not valid.any():
        return 1.0, 1.0
    low, high = np.quantile(np.log(observed[valid] / predicted[valid]), INTERVAL)
    return float(np.exp(low)), float(np.exp(high))


def coverage(observed: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of outcomes inside [low, high]."""
    observed = np.asarray(observed, float)
    return float(np.mean((observed >= low) & (observed <= high))) if len(observed) else np.nan


@dataclass
class ScoringModels:
    """Everything fitted that scoring needs (picklable: a cluster worker can hold it)."""

    spend: Ensemble
    baseline: MedianBaseline
    thin_categories: frozenset[str]
    levels: dict[str, list[str]]
    rates: pd.DataFrame  # channel, category, purchase_rate
    pof: pd.DataFrame
    categories: list[str]
    month: str  # YYYY-MM scored
    conversion: ConversionModel
    factors: tuple[float, float] = (1.0, 1.0)


def score_chunk(chunk: pd.DataFrame, models: ScoringModels) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per establishment, one row per establishment × category) for a chunk of
    featured establishments (look-alike columns and ``fold`` included)."""
    p_convert = models.conversion.predict(chunk)
    grid = chunk.merge(pd.DataFrame({"category": models.categories}), how="cross")
    grid["month"] = models.month
    grid["month_of_year"] = int(models.month[5:7])
    grid = F.with_category(grid, models.pof)
    matrix = F.model_matrix(grid, models.levels)
    value = models.spend.predict(matrix)
    thin = grid["category"].isin(models.thin_categories).to_numpy()
    if thin.any():
        value[thin] = models.baseline.predict(matrix[thin])
    rate = grid.merge(models.rates, on=["channel", "category"], how="left")["purchase_rate"]
    low, high = models.factors
    per_category = pd.DataFrame(
        {
            "cnpj_hash": grid["cnpj_hash"].to_numpy(),
            "category": grid["category"].to_numpy(),
            "p_convert": np.repeat(p_convert, len(models.categories)),
            "expected_spend": rate.fillna(0.0).to_numpy() * value,
        }
    )
    per_category["expected_revenue"] = per_category["p_convert"] * per_category["expected_spend"]
    per_category["revenue_low"] = per_category["expected_revenue"] * low
    per_category["revenue_high"] = per_category["expected_revenue"] * high
    spend = per_category.groupby("cnpj_hash", sort=False)["expected_spend"].sum()
    prospect = chunk[[c for c in chunk.columns if c in PROSPECT_KEEP]].copy()
    prospect["p_convert"] = p_convert
    prospect["expected_spend"] = spend.reindex(chunk["cnpj_hash"]).to_numpy()
    prospect["expected_revenue"] = prospect["p_convert"] * prospect["expected_spend"]
    prospect["revenue_low"] = prospect["expected_revenue"] * low
    prospect["revenue_high"] = prospect["expected_revenue"] * high
    return prospect.reset_index(drop=True), per_category


PROSPECT_KEEP = {
    *IDENTITY,
    "cnpj",
    "razao_social",
    "nome_fantasia",
    "natureza_juridica",
    "opcao_mei",
}


@dataclass
class Streamed:
    """What scoring in chunks keeps: small by construction."""

    prospects: pd.DataFrame  # one row per prospect
    best_by_uf_category: pd.DataFrame  # CATEGORY_COLUMNS + uf, the top N per UF × category
    regions: pd.DataFrame  # REGION_KEYS + sums
    category_rows: int = 0
    chunks: int = 0
    seconds: list[float] = field(default_factory=list)


def score_in_chunks(
    establishments: pd.DataFrame,
    models: ScoringModels,
    chunk_size: int,
    top_n: int,
    write_categories: Callable[[pd.DataFrame], None],
    progress: Callable[[str], None] = print,
) -> Streamed:
    """Score ``establishments`` ``chunk_size`` at a time; per-category rows go to
    ``write_categories`` as they are made, never all in memory."""
    chunk_size = max(1, int(chunk_size))
    prospects, best, regions = [], None, None
    rows = chunks = 0
    for start in range(0, len(establishments), chunk_size):
        chunk = establishments.iloc[start : start + chunk_size]
        prospect, per_category = score_chunk(chunk, models)
        write_categories(per_category)
        prospects.append(prospect)
        located = per_category.merge(prospect[[*REGION_KEYS[:-1], "cnpj_hash"]], on="cnpj_hash")
        best = _keep_best(best, located[[*CATEGORY_COLUMNS, "uf"]], top_n)
        regions = _add_regions(regions, located)
        rows += len(per_category)
        chunks += 1
        progress(f"scored {min(start + chunk_size, len(establishments)):,} prospects")
    if not prospects:
        raise ValueError("nothing to score")
    return Streamed(pd.concat(prospects, ignore_index=True), best, regions, rows, chunks)


def _keep_best(best: pd.DataFrame | None, new: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The top ``top_n`` rows per UF × category of the rows so far (ties by cnpj_hash)."""
    both = new if best is None else pd.concat([best, new], ignore_index=True)
    both = both.sort_values(
        ["uf", "category", "expected_revenue", "cnpj_hash"], ascending=[True, True, False, True]
    )
    return both[both.groupby(["uf", "category"]).cumcount() < top_n].reset_index(drop=True)


def _add_regions(regions: pd.DataFrame | None, located: pd.DataFrame) -> pd.DataFrame:
    """Running per-region sums (prospects counted once per category row: distinct)."""
    part = located.groupby(REGION_KEYS, dropna=False, as_index=False).agg(
        prospects=("cnpj_hash", "size"),
        predicted_value=("expected_spend", "sum"),
        expected_revenue=("expected_revenue", "sum"),
        p_convert_sum=("p_convert", "sum"),
        predicted_low=("revenue_low", "sum"),
        predicted_high=("revenue_high", "sum"),
    )
    if regions is None:
        return part
    both = pd.concat([regions, part], ignore_index=True)
    return both.groupby(REGION_KEYS, dropna=False, as_index=False).sum()


def rank_prospects(prospects: pd.DataFrame) -> pd.DataFrame:
    """``rank`` (1..N by expected revenue, ties by cnpj_hash) and ``rank_in_uf``."""
    ranked = prospects.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
    ranked = ranked.reset_index(drop=True)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    ranked["rank_in_uf"] = ranked.groupby("uf", dropna=False).cumcount() + 1
    return ranked


def likelihood(p_convert: pd.Series, base_rate: float) -> pd.Series:
    """``alta`` (at least 3× the base rate of conversion), ``média`` (at least the base
    rate), ``baixa`` (below it)."""
    labels = np.where(
        p_convert >= 3 * base_rate, "alta", np.where(p_convert >= base_rate, "média", "baixa")
    )
    return pd.Series(labels, index=p_convert.index)


def with_identity(prospects: pd.DataFrame, person_owned_forms: frozenset[str]) -> pd.DataFrame:
    """cnpj, trade name and legal name (``razao_social``), null for businesses owned by one
    person (their names can be the owner's own name, the scrub's pseudonym of it is no
    name, and a CNPJ of an individual is personal data). An establishment whose legal form
    is unknown (no ``core.companies`` row) counts as person-owned: shown without identity."""
    frame = prospects.copy()
    nature = frame["natureza_juridica"]
    personal = nature.isin(person_owned_forms) | nature.isna()
    if "opcao_mei" in frame:
        personal |= frame["opcao_mei"].eq("S")
    frame["person_owned"] = personal.to_numpy()
    for target, source in (
        ("cnpj", "cnpj"),
        ("trade_name", "nome_fantasia"),
        ("legal_name", "razao_social"),
    ):
        values = frame[source] if source in frame else pd.Series(None, index=frame.index)
        blank = values.isna() | values.astype("string").str.strip().eq("")
        frame[target] = values.where(~personal & ~blank, None)  # "" is no name to show
    return frame


def shortlist(ranked: pd.DataFrame, best: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The best ``top_n`` overall (by the prospect's expected revenue over the categories)
    and per UF × category (by the category's expected revenue; the score columns are then
    the category's); distinct establishments within each scope."""
    overall = ranked.head(top_n).assign(scope="overall", category=None)
    per_group = best.sort_values(
        ["uf", "category", "expected_revenue", "cnpj_hash"], ascending=[True, True, False, True]
    )
    per_group = per_group.assign(rank=per_group.groupby(["uf", "category"]).cumcount() + 1)
    scores = [c for c in CATEGORY_COLUMNS if c not in ("cnpj_hash", "category")]
    detail = ranked.drop(columns=[*scores, "rank", "uf"]).set_index("cnpj_hash")
    per_group = per_group.join(detail, on="cnpj_hash").assign(scope="uf_category")
    return pd.concat([overall, per_group], ignore_index=True)
