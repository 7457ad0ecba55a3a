"""Honest validation: folds grouped by establishment (built once, passed explicitly),
out-of-fold stacking, and a time holdout on the latest month.

No establishment is ever in both the training and the test part of a fold, so the
scores say how well the model predicts an establishment it has never seen, which is
exactly what scoring a prospect asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flows.analysis.models import (
    MEMBERS,
    MODEL_NAMES,
    Ensemble,
    ModelSizes,
    make_model,
    stacking_weights,
)

Fold = tuple[np.ndarray, np.ndarray]


def grouped_folds(groups: pd.Series | np.ndarray, n_folds: int, seed: int) -> list[Fold]:
    """(train, test) row positions; every group's rows are in exactly one test part."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    n_folds = min(n_folds, len(np.unique(groups)))
    if n_folds < 2:
        raise ValueError("grouped cross-validation needs at least two establishments")
    splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(train, test) for train, test in splitter.split(groups, groups=groups)]


def scores(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² on the R$ scale."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    error = observed - predicted
    total = float(np.sum((observed - observed.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1 - np.sum(error**2) / total) if total > 0 else 0.0,
    }


def spread(per_fold: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation across folds of each score."""
    return {
        metric: {
            "mean": float(np.mean([fold[metric] for fold in per_fold])),
            "std": float(np.std([fold[metric] for fold in per_fold], ddof=1))
            if len(per_fold) > 1
            else 0.0,
        }
        for metric in ("rmse", "mae", "r2")
    }


@dataclass
class CrossValidation:
    """Everything the grouped cross-validation learned."""

    folds: list[Fold]
    out_of_fold: dict[str, np.ndarray]  # model -> prediction for every row
    fold_scores: dict[str, list[dict[str, float]]]
    weights: dict[str, float]  # stacking weights learned on all out-of-fold predictions
    last_fold_models: dict[str, Any] = field(default_factory=dict)
    fold_weights: list[dict[str, float]] = field(default_factory=list)  # per fold's stack

    @property
    def fold_weights_positive(self) -> dict[str, bool]:
        """Per member: did it earn weight on any fold (or in the final stack)?"""
        return {
            name: self.weights[name] > 0 or any(w[name] > 0 for w in self.fold_weights)
            for name in MEMBERS
        }

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        return {name: spread(self.fold_scores[name]) for name in MODEL_NAMES}


def cross_validate(
    matrix: pd.DataFrame,
    target: np.ndarray,
    folds: list[Fold],
    sizes: ModelSizes,
    seed: int,
    progress=print,
) -> CrossValidation:
    """Fit every model on each fold's training part and predict its test part.

    The ensemble's score on fold k uses stacking weights learned on the other folds'
    out-of-fold predictions, so no fold grades weights it helped to choose.
    """
    target = np.asarray(target, float)
    oof = {name: np.full(len(target), np.nan) for name in MODEL_NAMES}
    fitted: dict[str, Any] = {}
    for number, (train, test) in enumerate(folds, start=1):
        for name in MODEL_NAMES[:-1]:
            model = make_model(name, sizes, seed).fit(matrix.iloc[train], target[train])
            oof[name][test] = model.predict(matrix.iloc[test])
            fitted[name] = model
        progress(f"fold {number}/{len(folds)}: {len(train):,} rows fitted, {len(test):,} held out")
    members = np.column_stack([oof[name] for name in MEMBERS])
    fold_scores: dict[str, list[dict[str, float]]] = {name: [] for name in MODEL_NAMES}
    fold_weights = []
    for _train, test in folds:
        others = np.setdiff1d(np.arange(len(target)), test)
        weights = stacking_weights(members[others], target[others])
        fold_weights.append({n: float(w) for n, w in zip(MEMBERS, weights, strict=True)})
        oof["ensemble"][test] = members[test] @ weights
        for name in MODEL_NAMES:
            fold_scores[name].append(scores(target[test], oof[name][test]))
    weights = stacking_weights(members, target)
    return CrossValidation(
        folds=folds,
        out_of_fold=oof,
        fold_scores=fold_scores,
        weights={name: float(w) for name, w in zip(MEMBERS, weights, strict=True)},
        last_fold_models=fitted,
        fold_weights=fold_weights,
    )


def fit_all(
    matrix: pd.DataFrame, target: np.ndarray, sizes: ModelSizes, seed: int
) -> dict[str, Any]:
    """Every model except the ensemble, fitted on all the rows."""
    return {name: make_model(name, sizes, seed).fit(matrix, target) for name in MODEL_NAMES[:-1]}


def time_holdout(
    matrix: pd.DataFrame,
    target: np.ndarray,
    months: pd.Series,
    groups: pd.Series,
    weights: dict[str, float],
    sizes: ModelSizes,
    seed: int,
    unseen_share: float = 0.2,
) -> dict:
    """Grouped time holdout: train on every month but the latest, leaving out a random
    ``unseen_share`` of the establishments entirely; score the latest month of those
    unseen establishments (what scoring a prospect asks) and, under its own name, the
    latest month of the known customers (next month of establishments seen in training)."""
    target = np.asarray(target, float)
    months, groups = np.asarray(months), np.asarray(groups)
    latest = str(max(months))
    names = np.unique(groups)
    rng = np.random.default_rng([seed, 23])
    unseen = np.isin(groups, rng.choice(names, size=max(1, round(len(names) * unseen_share))))
    train = np.flatnonzero((months != latest) & ~unseen)
    parts = {
        "unseen_establishments": np.flatnonzero((months == latest) & unseen),
        "known_customers_next_month": np.flatnonzero((months == latest) & ~unseen),
    }
    if len(train) == 0 or len(parts["unseen_establishments"]) == 0:
        raise ValueError("the time holdout needs at least two months of sales")
    models = fit_all(matrix.iloc[train], target[train], sizes, seed)
    ensemble = Ensemble({n: models[n] for n in MEMBERS}, weights)
    result: dict = {"month": latest, "unseen_share": unseen_share}
    for part, test in parts.items():
        if len(test) == 0:
            result[part] = None
            continue
        predictions = {name: model.predict(matrix.iloc[test]) for name, model in models.items()}
        predictions["ensemble"] = ensemble.predict(matrix.iloc[test])
        result[part] = {
            "rows": len(test),
            "models": {name: scores(target[test], predictions[name]) for name in MODEL_NAMES},
        }
    result["models"] = result["unseen_establishments"]["models"]  # the headline holdout
    return result


def permutation_importance(
    predict,
    matrix: pd.DataFrame,
    target: np.ndarray,
    groups: dict[str, list[str]],
    seed: int,
    repeats: int = 3,
    max_rows: int = 5_000,
) -> pd.DataFrame:
    """Rise in RMSE when a group of features is shuffled (rows kept together), on held-out
    rows: how much the predictions lean on what the group says."""
    rng = np.random.default_rng(seed)
    if len(matrix) > max_rows:
        keep = rng.choice(len(matrix), size=max_rows, replace=False)
        matrix, target = matrix.iloc[keep], np.asarray(target)[keep]
    matrix = matrix.reset_index(drop=True)
    reference = scores(target, predict(matrix))["rmse"]
    rows = []
    for label, columns in groups.items():
        rises = []
        for _ in range(repeats):
            shuffled = matrix.copy()
            order = rng.permutation(len(matrix))  # keeps each column's dtype (categories)
            for column in columns:
                shuffled[column] = matrix[column].iloc[order].set_axis(matrix.index)
            rises.append(scores(target, predict(shuffled))["rmse"] - reference)
        rows.append({"feature": label, "rmse_rise": float(np.mean(rises))})
    return pd.DataFrame(rows).sort_values("rmse_rise", ascending=False).reset_index(drop=True)
