"""Scoring: each prospect's predicted monthly potential per category, with an interval,
and the two published aggregates (``potential_by_region``, ``top_prospects``).

potential = purchase rate of the channel for the category (how many months in a year
its customers buy it) × the ensemble's predicted value of a month's purchase.
The 80 % interval comes from the out-of-fold residuals of the ensemble (the 10th and
90th percentiles of log(observed / predicted)), so it is as wide as the model's real
errors on establishments it had not seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODEL_ID = "demand_ensemble/1"
REGION_KEYS = ["uf", "ibge_code", "city", "channel", "category"]
PROSPECT_GROUP = ["uf", "ibge_code", "city", "category"]
INTERVAL = (0.10, 0.90)


def interval_factors(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Multipliers (low, high) of a prediction covering 80 % of out-of-fold outcomes."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    valid = (observed > 0) & (predicted > 0)
    if not valid.any():
        return 1.0, 1.0
    ratios = np.log(observed[valid] / predicted[valid])
    low, high = np.quantile(ratios, INTERVAL)
    return float(np.exp(low)), float(np.exp(high))


def score_prospects(
    prospects: pd.DataFrame,
    predicted_value: np.ndarray,
    rates: pd.DataFrame,
    factors: tuple[float, float],
) -> pd.DataFrame:
    """Add ``score`` (R$ per month), ``predicted_low`` and ``predicted_high``."""
    scored = prospects.merge(rates, on=["channel", "category"], how="left")
    rate = scored["purchase_rate"].fillna(0.0).to_numpy()
    value = np.asarray(predicted_value, float)
    scored["score"] = rate * value
    scored["predicted_low"] = scored["score"] * factors[0]
    scored["predicted_high"] = scored["score"] * factors[1]
    return scored


def potential_by_region(
    establishments: pd.DataFrame,
    customers: set[str],
    scored: pd.DataFrame,
    customer_sales: pd.DataFrame,
    categories: list[str],
    months: int,
) -> pd.DataFrame:
    """UF × city × channel × category: establishments, customers, the non-customers'
    predicted potential (sum) and the customers' observed monthly sales."""
    places = establishments.assign(is_customer=establishments["cnpj_hash"].isin(customers))
    counts = places.groupby(REGION_KEYS[:-1], dropna=False, as_index=False).agg(
        establishments=("cnpj_hash", "size"), customers=("is_customer", "sum")
    )
    grid = counts.merge(pd.DataFrame({"category": categories}), how="cross")
    predicted = scored.groupby(REGION_KEYS, dropna=False, as_index=False).agg(
        predicted_value=("score", "sum"),
        predicted_low=("predicted_low", "sum"),
        predicted_high=("predicted_high", "sum"),
    )
    located = customer_sales.merge(places[["cnpj_hash", *REGION_KEYS[:-1]]], on="cnpj_hash")
    located = located[located["category"].isin(categories)]
    observed = located.groupby(REGION_KEYS, dropna=False, as_index=False).agg(
        observed_sales=("sales_value", "sum")
    )
    observed["observed_sales"] /= months
    result = grid.merge(predicted, on=REGION_KEYS, how="left").merge(
        observed, on=REGION_KEYS, how="left"
    )
    filled = ["predicted_value", "predicted_low", "predicted_high", "observed_sales"]
    result[filled] = result[filled].fillna(0.0)
    return result.sort_values(REGION_KEYS).reset_index(drop=True)


def top_prospects(
    scored: pd.DataFrame, person_owned_forms: frozenset[str], per_group: int = 10
) -> pd.DataFrame:
    """The best ``per_group`` prospects per UF × city × category, ranked by score.

    Public registry fields only. An individual entrepreneur's trade name can be the
    owner's own name, so it is left empty for person-owned legal forms and MEIs; the sales team
    finds the business through ``cnpj_hash`` in the access-controlled warehouse.
    """
    ranked = scored.sort_values(
        [*PROSPECT_GROUP, "score", "cnpj_hash"], ascending=[True] * 4 + [False, True]
    )
    ranked["prospect_rank"] = ranked.groupby(PROSPECT_GROUP, dropna=False).cumcount() + 1
    best = ranked[ranked["prospect_rank"] <= per_group].copy()
    personal = best["natureza_juridica"].isin(person_owned_forms)
    if "opcao_mei" in best:
        personal |= best["opcao_mei"].eq("S")
    best["nome_fantasia"] = best["nome_fantasia"].where(~personal, None)
    return best.reset_index(drop=True)
