"""The conversion (look-alike) model: how likely an active establishment of the channels is
to become the partner's customer, learned from customers against non-customers.

Every establishment gets a fold number once. Features built from other establishments'
labels (the share of customers in its city, neighbourhood and state) are computed from
the OTHER folds only, so no row ever sees its own label; the classifier is cross-fitted
on the same folds (a row is scored by the model that did not train on it), so a
non-customer is not scored by a model that learned it as a negative.

The same code runs the validation every run: hide a random share of the customers
(they become non-customers for everything downstream), train, and see where the hidden
customers land in the ranking of all candidates (lift, AUC, cumulative gains).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flows.analysis import features as F
from flows.sample.acquisition import ranking_quality

LOOKALIKE_KEYS = {
    "city_customer_rate": ["ibge_code"],
    "neighbourhood_customer_rate": ["ibge_code", "neighbourhood"],
    "uf_customer_rate": ["uf"],
}
PRIOR_WEIGHT = 10.0  # pseudo-establishments at the overall rate (shrinks small places)
# The conversion fit learns from at most this many establishments (every customer, a
# weighted sample of the rest): a release's channels have up to a few million.
TRAIN_ROWS = 400_000
PREDICT_ROWS = 200_000  # rows of the model matrix built at a time when predicting
GAINS_SHARES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def assign_folds(count: int, folds: int, seed: int) -> np.ndarray:
    """A fold number 0..folds-1 per establishment, balanced and seeded."""
    rng = np.random.default_rng([seed, 18])
    return rng.permutation(np.arange(count) % folds)


def place_codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """One integer 0..n-1 per distinct combination of the ``keys`` columns' values (a
    missing value is the place ``unknown``, as ``features.as_text`` reads it): the group
    key of a place without building a string per establishment."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        values, count = _value_codes(frame[key])
        codes = pd.factorize(codes * max(count, 1) + values)[0]  # dense: no overflow
    return codes


def _value_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """A code per row of ``as_text(column)``, and how many codes there can be. From a
    categorical column's own codes (millions of rows, a few thousand labels)."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        values, uniques = pd.factorize(F.as_text(column))
        return values, len(uniques)
    labels = F.as_text(pd.Series(column.cat.categories))
    per_label, names = pd.factorize(labels)  # two categories may read the same as text
    unknown = np.flatnonzero(np.asarray(names) == "unknown")
    missing = int(unknown[0]) if len(unknown) else len(names)
    lookup = np.append(per_label, missing)  # code -1 (missing) reads the last entry
    return lookup[column.cat.codes.to_numpy()], len(names) + 1


def lookalike_rates(frame: pd.DataFrame, labels: np.ndarray, fold: np.ndarray) -> pd.DataFrame:
    """Out-of-fold customer shares of each row's city, neighbourhood and state: counts of
    the place minus the counts of the row's own fold, shrunk to the out-of-fold rate.
    Counted with ``np.bincount`` on integer codes: a few arrays of one number per row."""
    labels = np.asarray(labels, dtype=float)
    fold = np.asarray(fold, dtype=np.int64)
    folds = int(fold.max()) + 1 if len(fold) else 1
    fold_k = np.bincount(fold, weights=labels, minlength=folds)
    fold_n = np.bincount(fold, minlength=folds)
    prior = (labels.sum() - fold_k[fold]) / np.maximum(len(labels) - fold_n[fold], 1)
    result = {}
    for name, keys in LOOKALIKE_KEYS.items():
        place = place_codes(frame, keys)
        total = np.bincount(place, weights=labels)[place]
        size = np.bincount(place)[place]
        own = place * folds + fold
        own_k = np.bincount(own, weights=labels)[own]
        own_n = np.bincount(own)[own]
        del place, own
        k, n = total - own_k, size - own_n
        result[name] = (k + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)
    return pd.DataFrame(result, index=frame.index)


def conversion_matrix(frame: pd.DataFrame, levels: dict[str, list[str]]) -> pd.DataFrame:
    """The conversion model's columns: categoricals with fixed levels, numbers as floats."""
    matrix = frame[F.CONVERSION_FEATURES].copy()
    for column in F.CONVERSION_CATEGORICAL:
        matrix[column] = pd.Categorical(F.as_text(matrix[column]), categories=levels[column])
    numeric = [c for c in F.CONVERSION_FEATURES if c not in F.CONVERSION_CATEGORICAL]
    matrix[numeric] = matrix[numeric].astype(float)
    return matrix


@dataclass
class ConversionModel:
    """One LightGBM classifier per fold, each trained on the other folds."""

    levels: dict[str, list[str]]
    trees: int = 200
    threads: int = 1
    seed: int = 42
    train_rows: int = 0  # set from TRAIN_ROWS below
    fold_models: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.train_rows = self.train_rows or TRAIN_ROWS

    def _make(self):
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=self.trees,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=40,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=5.0,
            cat_smooth=20,
            random_state=self.seed,
            n_jobs=self.threads,
            verbose=-1,
        )

    def fit(self, frame: pd.DataFrame, labels: np.ndarray) -> ConversionModel:
        """``frame`` has the features (look-alike included) and a ``fold`` column. Beyond
        ``train_rows`` rows the models learn from every customer and a seeded sample of the
        non-customers, each sampled one weighted by the inverse of the sampling rate, so the
        probabilities keep their scale (a national release: millions of rows, few of them
        customers; the sample bounds the memory and time of the fit)."""
        labels = np.asarray(labels, dtype=int)
        rows, weight = training_sample(labels, self.train_rows, self.seed)
        matrix = conversion_matrix(frame[F.CONVERSION_FEATURES].iloc[rows], self.levels)
        fold = frame["fold"].to_numpy()[rows]
        labels = labels[rows]
        self.fold_models = []
        for number in range(int(frame["fold"].max()) + 1):
            train = fold != number
            if labels[train].min() == labels[train].max():  # one class only: the mean
                self.fold_models.append(float(np.average(labels[train], weights=weight[train])))
                continue
            model = self._make().fit(
                matrix[train],
                labels[train],
                sample_weight=None if (weight == 1).all() else weight[train],
            )
            self.fold_models.append(model)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """P(becomes a customer) per row, by the model of the row's fold (pure: any chunk),
        ``PREDICT_ROWS`` rows at a time (the same values as all at once)."""
        result = np.zeros(len(frame))
        for start in range(0, len(frame), PREDICT_ROWS):
            part = frame.iloc[start : start + PREDICT_ROWS]
            matrix = conversion_matrix(part, self.levels)
            fold = part["fold"].to_numpy()
            for number, model in enumerate(self.fold_models):
                rows = fold == number
                if not rows.any():
                    continue
                if isinstance(model, float):
                    result[start + np.flatnonzero(rows)] = model
                else:
                    result[start + np.flatnonzero(rows)] = model.predict_proba(matrix[rows])[:, 1]
        return result


def training_sample(labels: np.ndarray, limit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows the conversion model learns from and their weights: every row while there are
    at most ``limit``; beyond, every positive and a seeded sample of the negatives filling
    ``limit``, weighted 1 / (the negatives' sampling rate)."""
    everything = np.arange(len(labels))
    negatives = np.flatnonzero(labels == 0)
    if len(labels) <= limit or len(negatives) == 0:
        return everything, np.ones(len(labels))
    # at least half the limit of negatives, even where the customers alone fill it
    keep = min(len(negatives), max(limit - (len(labels) - len(negatives)), limit // 2, 1))
    rng = np.random.default_rng([seed, 23])
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[labels != 0] = True
    chosen[rng.choice(negatives, size=keep, replace=False)] = True
    rows = np.flatnonzero(chosen)
    weight = np.where(labels[rows] == 0, len(negatives) / keep, 1.0)
    return rows, weight


def with_lookalike(frame: pd.DataFrame, labels: np.ndarray, in_place: bool = False) -> pd.DataFrame:
    """The frame plus its out-of-fold look-alike columns for these labels (``in_place``:
    set in ``frame`` itself, replacing those of other labels, and it is returned)."""
    rates = lookalike_rates(frame, labels, frame["fold"].to_numpy())
    if not in_place:
        return frame.assign(**rates)
    for column in rates.columns:
        frame[column] = rates[column].to_numpy()
    return frame


def fit_predict(
    frame: pd.DataFrame, labels: np.ndarray, trees: int, seed: int, in_place: bool = False
) -> tuple[ConversionModel, pd.DataFrame, np.ndarray]:
    """Look-alike features for ``labels``, the cross-fitted model, and P(convert) per row
    (``in_place``: the look-alike columns are set in ``frame``, which is returned)."""
    featured = with_lookalike(frame, labels, in_place)
    levels = F.category_levels(frame)
    model = ConversionModel(levels=levels, trees=trees, seed=seed).fit(featured, labels)
    return model, featured, model.predict(featured)


def hide_customers(hashes: pd.Series, customers: set[str], share: float, seed: int) -> set[str]:
    """A random ``share`` of the customers among ``hashes`` (seeded), to hide."""
    known = np.sort(hashes[hashes.isin(customers)].unique())
    if share <= 0 or len(known) == 0:
        return set()
    rng = np.random.default_rng([seed, 19])
    count = max(1, round(len(known) * share))
    return set(rng.choice(known, size=min(count, len(known) - 1 or 1), replace=False))


def gains(
    score: np.ndarray, positive: np.ndarray, revenue: np.ndarray, shares=GAINS_SHARES
) -> list[dict[str, float]]:
    """Cumulative gains: calling the top share of the ranking reaches what share of the
    positives and of their revenue (ties broken by position, i.e. arbitrarily but fixed)."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    revenue = np.where(positive, np.asarray(revenue, float), 0.0)
    order = np.lexsort((np.arange(len(score)), -score))
    hits, money = np.cumsum(positive[order]), np.cumsum(revenue[order])
    total_hits, total_money = max(int(positive.sum()), 1), revenue.sum() or 1.0
    curve = []
    for share in shares:
        top = max(1, min(len(score), round(len(score) * share)))
        curve.append(
            {
                "share_called": float(share),
                "customers_reached": float(hits[top - 1] / total_hits),
                "revenue_reached": float(money[top - 1] / total_money),
            }
        )
    return curve


def validation_metrics(
    ranking: np.ndarray,
    p_convert: np.ndarray,
    hidden: np.ndarray,
    revenue: np.ndarray,
    share: float,
) -> dict:
    """metrics.json's ``conversion``: where the hidden customers land among the candidates
    (lift and AUC of P(convert); gains of the published ranking, expected revenue)."""
    quality = ranking_quality(p_convert, hidden)
    by_revenue = ranking_quality(ranking, hidden)
    return {
        "hidden_share": float(share),
        "hidden_customers": int(np.sum(hidden)),
        "candidates": len(hidden),
        "top_decile_lift": quality["top_decile_lift"],
        "auc": quality["auc"],
        "expected_revenue_top_decile_lift": by_revenue["top_decile_lift"],
        "expected_revenue_auc": by_revenue["auc"],
        "gains": gains(ranking, hidden, revenue),
    }
