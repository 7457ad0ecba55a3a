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


def city_labels(frame: pd.DataFrame, seed: int, base: float = -2.5) -> np.ndarray:
    """Customers planted by city (about 10 %), the look-alike's signal."""
    rng = np.random.default_rng(seed)
    effect = rng.normal(0, 1.5, size=40)[frame["ibge_code"].astype(int) - 3_500_000]
    return rng.random(len(frame)) < 1 / (1 + np.exp(-(effect + base)))


def test_place_codes_group_as_the_place_strings_did():
    frame = places(3_000)
    frame.loc[::7, "neighbourhood"] = None  # a missing neighbourhood is the place "unknown"
    frame.loc[::11, "neighbourhood"] = "unknown"
    keys = ["ibge_code", "neighbourhood"]
    text = frame["ibge_code"].astype(str) + "|" + frame["neighbourhood"].fillna("unknown")
    codes = C.place_codes(frame, keys)
    pairs = pd.DataFrame({"code": codes, "text": text})
    assert (pairs.groupby("code")["text"].nunique() == 1).all()
    assert (pairs.groupby("text")["code"].nunique() == 1).all()
    as_categories = frame.astype({"ibge_code": "category", "neighbourhood": "category"})
    assert (C.place_codes(as_categories, keys) == codes).all()


def test_the_training_sample_keeps_every_customer_and_weights_the_rest():
    labels = np.zeros(10_000, dtype=int)
    labels[::20] = 1  # 500 customers
    rows, weight = C.training_sample(labels, 2_000, seed=3)
    assert len(rows) == 2_000 and np.all(np.diff(rows) > 0)
    assert labels[rows].sum() == 500  # every customer
    negatives = labels[rows] == 0
    assert np.allclose(weight[negatives], 9_500 / 1_500) and np.all(weight[~negatives] == 1)
    assert weight.sum() == pytest.approx(len(labels))  # the sample stands for every row
    again, _ = C.training_sample(labels, 2_000, seed=3)
    assert (again == rows).all()  # seeded
    everything, ones = C.training_sample(labels, 10_000, seed=3)
    assert len(everything) == 10_000 and (ones == 1).all()
    labels[:3_000] = 1  # more customers than the limit: all of them, and half a limit more
    rows, weight = C.training_sample(labels, 2_000, seed=3)
    assert labels[rows].sum() == labels.sum() and (labels[rows] == 0).sum() == 1_000
    assert weight.sum() == pytest.approx(len(labels))


def test_a_sampled_fit_keeps_the_probabilities_scale_and_the_ranking(monkeypatch):
    """Beyond TRAIN_ROWS the model learns from a weighted sample: P(convert) stays on the
    scale of the full fit (the mean near the customer share; an unweighted sample of the
    negatives would inflate it about four-fold here) and ranks as well."""
    frame = places(20_000, seed=5)
    labels = city_labels(frame, seed=5)
    _, _, full = C.fit_predict(frame, labels, trees=60, seed=1)
    monkeypatch.setattr(C, "TRAIN_ROWS", 5_000)
    model, _, sampled = C.fit_predict(frame, labels, trees=60, seed=1)
    assert model.train_rows == 5_000
    assert sampled.mean() == pytest.approx(labels.mean(), rel=0.25)
    assert full.mean() == pytest.approx(labels.mean(), rel=0.15)
    assert roc_auc_score(labels, sampled) >= roc_auc_score(labels, full) - 0.03
    assert not np.allclose(sampled, full)  # it did learn from the sample


def test_predicting_in_parts_gives_the_values_of_one_pass(monkeypatch):
    frame = places(5_000, seed=6)
    labels = city_labels(frame, seed=6)
    model, featured, whole = C.fit_predict(frame, labels, trees=30, seed=1)
    monkeypatch.setattr(C, "PREDICT_ROWS", 777)
    assert np.array_equal(model.predict(featured), whole)


def test_look_alike_columns_set_in_place_equal_the_copy():
    frame = places(3_000)
    labels = city_labels(frame, seed=7)
    copy = C.with_lookalike(frame, labels)
    same = C.with_lookalike(frame, labels, in_place=True)
    assert same is frame
    pd.testing.assert_frame_equal(same, copy)
