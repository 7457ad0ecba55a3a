"""The models: a naive baseline, LightGBM, a random forest, a ridge regression, and a
non-negative stack of the three.

Sales values are multiplicative (channel × size × region × season) and right-skewed, so
the learners fit log(value) and predict ``exp(prediction) × smearing`` (Duan's estimate
of the mean from the training residuals), which puts them back on the R$ scale the
metrics are computed on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from flows.analysis.features import CATEGORICAL, NUMERIC

BASELINE_KEYS = (("channel", "uf", "category"), ("channel", "category"), ("category",))
MEMBERS = ("lightgbm", "random_forest", "linear")
MODEL_NAMES = ("baseline", *MEMBERS, "ensemble")


@dataclass
class ModelSizes:
    """How big the learners are (small for CI, larger for production)."""

    lightgbm_trees: int = 150
    forest_trees: int = 40
    forest_depth: int = 14
    forest_max_samples: int = 30_000
    ridge_alpha: float = 1.0
    conversion_trees: int = 200  # per fold of the look-alike classifier
    # LightGBM's OpenMP threads spin-wait: on a shared 2-core machine two threads were
    # 7x slower than one (11.4 s vs 1.7 s on 7,700 rows); the forest uses both cores.
    lightgbm_threads: int = 1
    threads: int = 2


class MedianBaseline:
    """The median of the training rows per channel × UF × category (falling back to
    channel × category, category, then everything when a group is empty)."""

    def fit(self, rows: pd.DataFrame, target: np.ndarray) -> MedianBaseline:
        frame = rows[list(CATEGORICAL)].astype(str).assign(_y=np.asarray(target))
        self.tables = [frame.groupby(list(keys))["_y"].median() for keys in BASELINE_KEYS]
        self.overall = float(np.median(target))
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        result = np.full(len(rows), np.nan)
        frame = rows.astype({c: str for c in CATEGORICAL if c in rows})
        for keys, table in zip(BASELINE_KEYS, self.tables, strict=True):
            index = pd.MultiIndex.from_frame(frame[list(keys)]) if len(keys) > 1 else frame[keys[0]]
            found = table.reindex(index).to_numpy()
            result = np.where(np.isnan(result), found, result)
        return np.where(np.isnan(result), self.overall, result)


@dataclass
class LogModel:
    """A learner fitted on log(target); predictions back on the R$ scale (smeared)."""

    name: str
    sizes: ModelSizes
    seed: int
    smearing: float = 1.0
    estimator: Any = field(default=None, repr=False)

    def _inputs(self, rows: pd.DataFrame):
        if self.name == "random_forest":  # scikit-learn trees want numbers
            codes = {c: rows[c].cat.codes for c in CATEGORICAL}
            return rows.assign(**codes).to_numpy(dtype=np.float32)
        return rows

    def _make(self):
        sizes = self.sizes
        if self.name == "lightgbm":
            from lightgbm import LGBMRegressor

            return LGBMRegressor(
                n_estimators=sizes.lightgbm_trees,
                learning_rate=0.08,
                num_leaves=31,
                min_child_samples=20,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                reg_lambda=1.0,
                cat_smooth=10,
                random_state=self.seed,
                n_jobs=sizes.lightgbm_threads,
                verbose=-1,
            )
        if self.name == "random_forest":
            from sklearn.ensemble import RandomForestRegressor

            return RandomForestRegressor(
                n_estimators=sizes.forest_trees,
                max_depth=sizes.forest_depth,
                min_samples_leaf=5,
                max_features=0.5,
                max_samples=sizes.forest_max_samples,
                random_state=self.seed,
                n_jobs=sizes.threads,
            )
        if self.name == "linear":
            return linear_pipeline(sizes.ridge_alpha)
        raise ValueError(f"unknown model {self.name!r}")

    def fit(self, rows: pd.DataFrame, target: np.ndarray) -> LogModel:
        log_target = np.log(np.asarray(target, dtype=float))
        self.estimator = self._make()
        if self.name == "random_forest":
            self.estimator.set_params(max_samples=min(self.sizes.forest_max_samples, len(rows)))
        self.estimator.fit(self._inputs(rows), log_target)
        residuals = log_target - self._predict_log(rows)
        self.smearing = float(np.mean(np.exp(residuals)))
        return self

    def _predict_log(self, rows: pd.DataFrame) -> np.ndarray:
        if self.name == "random_forest":
            return forest_predict(self.estimator, self._inputs(rows), self.sizes.threads)
        return self.estimator.predict(self._inputs(rows))

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.exp(self._predict_log(rows)) * self.smearing


def forest_predict(forest: Any, inputs: np.ndarray, threads: int) -> np.ndarray:
    """The forest's mean of its trees, the same bits every call and in any chunks.

    scikit-learn's ``predict`` splits the trees between its threads and adds each tree's
    prediction as it finishes, so the order of the sum (and the last bits) changed from
    call to call. Here the threads split the rows instead, and each row's trees are
    summed in the forest's order: a row's value does not depend on the call, the chunk
    it came in, or the process it ran in (a Dask worker)."""
    from concurrent.futures import ThreadPoolExecutor

    trees = forest.estimators_

    def block(part: np.ndarray) -> np.ndarray:
        total = np.zeros(len(part))
        for tree in trees:
            total += tree.predict(part)
        return total / len(trees)

    parts = np.array_split(inputs, max(1, min(threads, len(inputs))))
    if len(parts) == 1:
        return block(inputs)
    with ThreadPoolExecutor(len(parts)) as pool:
        return np.concatenate(list(pool.map(block, parts)))


def linear_pipeline(alpha: float):
    """Ridge on one-hot categoricals (plus category × month for the seasons) and scaled
    numbers (a missing number: the median; a feature the data lacks entirely: 0, quietly);
    unseen levels count as none (e.g. a month the training never saw)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    def season(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"season": frame["category"].astype(str) + "@" + frame["month_of_year"].astype(str)}
        )

    encode = ColumnTransformer(
        [
            ("levels", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
            (
                "season",
                make_pipeline(FunctionTransformer(season), OneHotEncoder(handle_unknown="ignore")),
                ["category", "month_of_year"],
            ),
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                ),
                list(NUMERIC),
            ),
        ]
    )
    from sklearn.linear_model import Ridge

    return make_pipeline(encode, Ridge(alpha=alpha))


def make_model(name: str, sizes: ModelSizes, seed: int):
    """A fresh, unfitted model by name."""
    if name == "baseline":
        return MedianBaseline()
    return LogModel(name=name, sizes=sizes, seed=seed)


def stacking_weights(member_predictions: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Non-negative least squares weights of the members (columns) against the target."""
    weights, _ = nnls(np.asarray(member_predictions, float), np.asarray(target, float))
    if not weights.any():  # degenerate: no member helps; fall back to an equal blend
        weights = np.full(member_predictions.shape[1], 1 / member_predictions.shape[1])
    return weights


@dataclass
class Ensemble:
    """The fitted members and their stacking weights (learned out of fold)."""

    members: dict[str, Any]
    weights: dict[str, float]

    def member_predictions(self, rows: pd.DataFrame) -> np.ndarray:
        return np.column_stack([self.members[name].predict(rows) for name in MEMBERS])

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return self.member_predictions(rows) @ np.array([self.weights[n] for n in MEMBERS])
