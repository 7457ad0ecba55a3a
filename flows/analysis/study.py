"""The notebook's steps as functions: prepare the rows, validate, score, write outputs.

The notebook calls these in order and tells the story around them; tests and the
benchmark call them too, so what the notebook runs is what is tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows.analysis import features as F
from flows.analysis import model_card, outputs, scoring
from flows.analysis.data import WarehouseData, person_owned_forms
from flows.analysis.models import MEMBERS, Ensemble, ModelSizes
from flows.analysis.validation import (
    CrossValidation,
    cross_validate,
    fit_all,
    grouped_folds,
    permutation_importance,
    time_holdout,
)


@dataclass
class Prepared:
    """The training rows and everything derived from the warehouse read."""

    data: WarehouseData
    categories: list[str]
    features: pd.DataFrame  # one row per active establishment of the channels
    rows: pd.DataFrame  # training rows (customer × category × month with a purchase)
    levels: dict[str, list[str]]
    rates: pd.DataFrame
    sampled_from: int  # training rows before sampling

    @property
    def matrix(self) -> pd.DataFrame:
        return F.model_matrix(self.rows, self.levels)

    @property
    def target(self) -> np.ndarray:
        return self.rows[F.TARGET].to_numpy(dtype=float)


def sample_establishments(rows: pd.DataFrame, sample_size: int, seed: int) -> pd.DataFrame:
    """At most about ``sample_size`` rows, keeping or leaving whole establishments."""
    if not sample_size or len(rows) <= sample_size:
        return rows
    hashes = rows["cnpj_hash"].unique()
    rng = np.random.default_rng(seed)
    keep = rng.choice(
        hashes, size=max(2, int(len(hashes) * sample_size / len(rows))), replace=False
    )
    return rows[rows["cnpj_hash"].isin(set(keep))].reset_index(drop=True)


def prepare(
    data: WarehouseData, categories: list[str] | None, sample_size: int, seed: int
) -> Prepared:
    """Features per establishment, training rows (sampled by establishment), purchase rates."""
    sold = data.monthly_sales
    categories = sorted(categories or sold["category"].dropna().unique())
    features = F.establishment_features(
        data.establishments, data.regions, data.pof, data.window.stop_day
    )
    rows = F.training_rows(features, sold, data.pof, categories)
    rows = rows[rows[F.TARGET] > 0]
    if rows["cnpj_hash"].nunique() < 10:
        raise ValueError(
            f"only {rows['cnpj_hash'].nunique()} customers bought {categories} in "
            f"{data.window.start}..{data.window.end}: too few to validate a model"
        )
    sampled = sample_establishments(rows, sample_size, seed)
    customers = data.customers & set(features["cnpj_hash"])
    rates = F.purchase_rates(sold, features, customers, len(data.window.months))
    levels = F.category_levels(features, pd.DataFrame({"category": categories}))
    return Prepared(data, categories, features, sampled, levels, rates, len(rows))


def validate(prepared: Prepared, folds: int, sizes: ModelSizes, seed: int, progress=print):
    """Grouped cross-validation (folds built once) and the latest-month holdout."""
    matrix, target = prepared.matrix, prepared.target
    split = grouped_folds(prepared.rows["cnpj_hash"], folds, seed)
    cv = cross_validate(matrix, target, split, sizes, seed, progress=progress)
    month, holdout = time_holdout(matrix, target, prepared.rows["month"], cv.weights, sizes, seed)
    progress(f"time holdout on {month} done")
    return cv, month, holdout


def held_out_importance(prepared: Prepared, cv: CrossValidation, seed: int) -> pd.DataFrame:
    """Permutation importance of the last fold's ensemble on that fold's held-out rows."""
    _, test = cv.folds[-1]
    ensemble = Ensemble({n: cv.last_fold_models[n] for n in MEMBERS}, cv.weights)
    return permutation_importance(
        ensemble.predict,
        prepared.matrix.iloc[test],
        prepared.target[test],
        F.importance_groups(),
        seed,
    )


def score(prepared: Prepared, cv: CrossValidation, sizes: ModelSizes, seed: int):
    """Fit every member on all the rows and score every non-customer × category."""
    models = fit_all(prepared.matrix, prepared.target, sizes, seed)
    ensemble = Ensemble({n: models[n] for n in MEMBERS}, cv.weights)
    next_month = str(pd.Period(prepared.data.window.end, freq="M") + 1)
    prospects = F.prospect_rows(
        prepared.features,
        prepared.data.customers,
        prepared.categories,
        next_month,
        prepared.data.pof,
    )
    if prospects.empty:
        raise ValueError(
            "nothing to score: every active establishment of the channels in scope is already "
            "a customer of the partner (a release this small has no prospects)"
        )
    predicted = ensemble.predict(F.model_matrix(prospects, prepared.levels))
    factors = scoring.interval_factors(prepared.target, cv.out_of_fold["ensemble"])
    return scoring.score_prospects(prospects, predicted, prepared.rates, factors)


def write(
    prepared: Prepared,
    cv: CrossValidation,
    holdout_month: str,
    holdout: dict,
    scored: pd.DataFrame,
    importance: pd.DataFrame | None,
    run_id: str,
    output_dir: str,
    per_group: int = 10,
) -> dict:
    """The four output files; returns metrics.json's content."""
    data = prepared.data
    scored_at = dt.datetime.now(dt.UTC)
    metrics = outputs.build_metrics(
        run_id=run_id,
        release=data.release,
        categories=prepared.categories,
        window=data.window.to_dict(),
        rows={
            "establishments": len(prepared.features),
            "customers": int(prepared.features["cnpj_hash"].isin(data.customers).sum()),
            "training_rows": len(prepared.rows),
            "training_rows_before_sampling": prepared.sampled_from,
            "prospect_rows": len(scored),
        },
        folds=len(cv.folds),
        models=cv.summary(),
        holdout_month=holdout_month,
        holdout=holdout,
        weights=cv.weights,
        prospects_scored=scored["cnpj_hash"].nunique(),
    )
    customer_sales = data.monthly_sales[data.monthly_sales["cnpj_hash"].isin(data.customers)]
    region = scoring.potential_by_region(
        prepared.features,
        data.customers,
        scored,
        customer_sales,
        prepared.categories,
        len(data.window.months),
    )
    best = scoring.top_prospects(scored, person_owned_forms(), per_group)
    by_channel = model_card.per_channel_scores(
        prepared.rows, prepared.target, cv.out_of_fold["ensemble"]
    )
    outputs.write_outputs(
        output_dir,
        metrics,
        outputs.to_table(region, outputs.POTENTIAL_SCHEMA, run_id, scored_at, scoring.MODEL_ID),
        outputs.to_table(best, outputs.PROSPECTS_SCHEMA, run_id, scored_at, scoring.MODEL_ID),
        model_card.render(metrics, by_channel, importance),
    )
    return metrics
