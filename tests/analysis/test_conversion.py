"""The look-alike conversion model: no feature sees the row's own label, and the checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from flows.analysis import conversion as C


def places(count: int = 4_000, cities: int = 40, seed: int = 0) -> pd.DataFrame:
    """Establishments in a few cities and neighbourhoods, with registry-like columns."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, cities, size=count)
    return pd.DataFrame(
        {
            "cnpj_hash": [f"h{i}" for i in range(count)],
            "channel": rng.choice(["bar", "restaurant", "supermarket"], size=count),
            "uf": np.where(city < cities // 2, "SP", "BA"),
            "ibge_code": [f"{3_500_000 + c}" for c in city],
            "neighbourhood": rng.choice(["CENTRO", "LAPA", "MOOCA"], size=count),
            "porte": rng.choice(["01", "03"], size=count),
            "capital_bracket": "10k-50k",
            "is_filial": 0.0,
            "is_mei": (rng.random(count) < 0.3).astype(float),
            "is_simples": 0.0,
            "log_capital": rng.normal(10, 1, size=count),
            "age_years": rng.uniform(0, 20, size=count),
            "log_population": np.log(50_000 + 1_000 * city),
            "ipm_nm": 3.0,
            "food_spending_per_family": 900.0,
            "establishment_density": 5.0,
            "competition": 10.0,
            "neighbourhood_outlets": 3.0,
            "fold": C.assign_folds(count, 5, seed),
        }
    )


def test_a_feature_built_from_customers_never_sees_the_rows_own_label():
    frame = places()
    rng = np.random.default_rng(1)
    labels = rng.random(len(frame)) < 0.2  # no signal at all
    oof = C.lookalike_rates(frame, labels, frame["fold"].to_numpy())
    for column in C.LOOKALIKE_KEYS:
        assert roc_auc_score(labels, oof[column]) == pytest.approx(0.5, abs=0.04), column
    # The same share computed with the row's own label included does leak: the test can fail.
    naive = frame.assign(y=labels).groupby(["ibge_code", "neighbourhood"])["y"].transform("mean")
    assert roc_auc_score(labels, naive) > 0.6


def test_shuffled_labels_drop_the_models_auc_to_chance():
    frame = places()
    rng = np.random.default_rng(2)
    city_effect = rng.normal(0, 1.5, size=40)[frame["ibge_code"].astype(int) - 3_500_000]
    labels = rng.random(len(frame)) < 1 / (1 + np.exp(-(city_effect - 1.5)))
    _, _, p = C.fit_predict(frame, labels, trees=60, seed=1)
    assert roc_auc_score(labels, p) > 0.7  # the look-alike finds the city effect
    shuffled = rng.permutation(labels)
    _, _, p_shuffled = C.fit_predict(frame, shuffled, trees=60, seed=1)
    assert roc_auc_score(shuffled, p_shuffled) == pytest.approx(0.5, abs=0.05)


def test_folds_are_balanced_and_the_hidden_share_is_respected():
    fold = C.assign_folds(103, 5, seed=3)
    assert sorted(np.bincount(fold)) == [20, 20, 21, 21, 21]
    hashes = pd.Series([f"h{i}" for i in range(100)])
    hidden = C.hide_customers(hashes, {f"h{i}" for i in range(50)}, 0.2, seed=1)
    assert len(hidden) == 10 and hidden <= {f"h{i}" for i in range(50)}
    assert C.hide_customers(hashes, {"h1"}, 0.0, seed=1) == set()


def test_gains_count_customers_and_revenue_reached():
    score = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    positive = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    revenue = np.array([100.0, 0, 300.0, 0, 0, 0, 0, 0, 0, 600.0])
    curve = {g["share_called"]: g for g in C.gains(score, positive, revenue)}
    assert curve[0.1]["customers_reached"] == pytest.approx(1 / 3)
    assert curve[0.1]["revenue_reached"] == pytest.approx(0.1)
    assert curve[0.3]["customers_reached"] == pytest.approx(2 / 3)
    assert curve[1.0] == {"share_called": 1.0, "customers_reached": 1.0, "revenue_reached": 1.0}
