"""Models, stacking and validation on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.analysis import features as F
from flows.analysis import validation as V
from flows.analysis.models import (
    MEMBERS,
    MODEL_NAMES,
    Ensemble,
    MedianBaseline,
    ModelSizes,
    make_model,
    stacking_weights,
)
from tests.analysis.small_data import AS_OF, warehouse_data

SMALL = ModelSizes(lightgbm_trees=30, forest_trees=10, forest_depth=6, forest_max_samples=500)


@pytest.fixture(scope="module")
def training():
    data = warehouse_data(establishments=160)
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    rows = F.training_rows(features, data.monthly_sales, data.pof)
    levels = F.category_levels(features, rows)
    return rows, F.model_matrix(rows, levels), rows[F.TARGET].to_numpy()


def test_baseline_is_the_median_of_the_group_with_fallbacks():
    rows = pd.DataFrame(
        {
            "channel": ["bar", "bar", "bar", "bar"],
            "uf": ["SP", "SP", "SP", "RJ"],
            "category": ["Cerveja"] * 4,
            **{c: "x" for c in ("cnae", "porte", "capital_bracket")},
        }
    )
    model = MedianBaseline().fit(rows, np.array([1.0, 3.0, 10.0, 100.0]))
    asked = pd.DataFrame(
        {"channel": ["bar", "bar", "pub"], "uf": ["SP", "MG", "SP"], "category": ["Cerveja"] * 3}
    )
    # SP group median 3; MG unseen -> bar × Cerveja median 6.5; unseen channel -> category.
    assert model.predict(asked).tolist() == [3.0, 6.5, 6.5]
    asked.loc[2, "category"] = "Vinho"
    assert model.predict(asked)[2] == 6.5  # nothing matches: the overall median


def test_stacking_weights_are_non_negative_and_recover_a_blend():
    rng = np.random.default_rng(0)
    members = rng.uniform(1, 10, size=(500, 3))
    target = 0.7 * members[:, 0] + 0.3 * members[:, 2]
    weights = stacking_weights(members, target)
    assert weights == pytest.approx([0.7, 0.0, 0.3], abs=1e-6)
    assert (stacking_weights(members, -target) >= 0).all()


@pytest.mark.parametrize("name", MEMBERS)
def test_each_member_learns_the_planted_signal(training, name):
    _, matrix, target = training
    model = make_model(name, SMALL, seed=1).fit(matrix, target)
    predicted = model.predict(matrix)
    assert (predicted > 0).all()
    assert V.scores(target, predicted)["r2"] > 0.6


def test_grouped_folds_never_split_an_establishment(training):
    rows, _, _ = training
    folds = V.grouped_folds(rows["cnpj_hash"], 4, seed=2)
    assert len(folds) == 4
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(rows)))
    for train, test in folds:
        assert not set(rows["cnpj_hash"].iloc[train]) & set(rows["cnpj_hash"].iloc[test])
    with pytest.raises(ValueError, match="two establishments"):
        V.grouped_folds(["a", "a"], 5, seed=1)


def test_scores_and_spread():
    assert V.scores([1, 2, 3], [1, 2, 3]) == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}
    assert V.scores([0, 0, 4], [1, 1, 1])["mae"] == pytest.approx(5 / 3)
    summary = V.spread([{"rmse": 1, "mae": 1, "r2": 0}, {"rmse": 3, "mae": 1, "r2": 0}])
    assert summary["rmse"] == {"mean": 2.0, "std": pytest.approx(np.sqrt(2))}


def test_cross_validation_reports_every_model_and_the_stack(training):
    rows, matrix, target = training
    folds = V.grouped_folds(rows["cnpj_hash"], 3, seed=1)
    cv = V.cross_validate(matrix, target, folds, SMALL, seed=1, progress=lambda _: None)
    summary = cv.summary()
    assert set(summary) == set(MODEL_NAMES)
    for name in MODEL_NAMES:
        assert not np.isnan(cv.out_of_fold[name]).any()
        assert set(summary[name]) == {"rmse", "mae", "r2"}
    assert all(w >= 0 for w in cv.weights.values())
    assert summary["ensemble"]["rmse"]["mean"] < summary["baseline"]["rmse"]["mean"]
    ensemble = Ensemble({n: cv.last_fold_models[n] for n in MEMBERS}, cv.weights)
    assert ensemble.predict(matrix.iloc[:5]).shape == (5,)


def test_time_holdout_tests_the_latest_month_of_unseen_establishments(training, monkeypatch):
    rows, matrix, target = training
    weights = {"lightgbm": 0.5, "random_forest": 0.5, "linear": 0.0}
    fitted_on = []
    real_fit_all = V.fit_all
    monkeypatch.setattr(
        V, "fit_all", lambda m, t, *a: fitted_on.append(m.index) or real_fit_all(m, t, *a)
    )
    result = V.time_holdout(
        matrix, target, rows["month"], rows["cnpj_hash"], weights, SMALL, seed=1
    )
    assert result["month"] == "2026-06"
    assert set(result["models"]) == set(MODEL_NAMES)
    unseen = result["unseen_establishments"]
    known = result["known_customers_next_month"]
    assert unseen["rows"] + known["rows"] == int((rows["month"] == "2026-06").sum())
    trained = set(rows.loc[fitted_on[0], "cnpj_hash"])
    latest = rows[rows["month"] == "2026-06"]
    unseen_hashes = set(latest["cnpj_hash"]) - trained
    assert len(latest[latest["cnpj_hash"].isin(unseen_hashes)]) == unseen["rows"]  # grouped
    assert not (rows.loc[fitted_on[0], "month"] == "2026-06").any()
    with pytest.raises(ValueError, match="two months"):
        V.time_holdout(
            matrix, target, pd.Series(["2026-06"] * len(rows)), rows["cnpj_hash"], weights,
            SMALL, 1,
        )  # fmt: skip


def test_permutation_importance_finds_the_feature_the_prediction_uses(training):
    _, matrix, target = training

    def predict(frame):  # leans on the channel only
        return np.where(frame["channel"].astype(str) == "supermarket", 1000.0, 200.0)

    importance = V.permutation_importance(
        predict, matrix, target, F.importance_groups(), seed=0, repeats=2
    )
    assert importance.iloc[0]["feature"] == "canal e atividade (CNAE)"
    assert importance.iloc[-1]["rmse_rise"] == pytest.approx(0.0)


def test_the_members_fit_when_a_public_feature_is_missing(training):
    _, matrix, target = training
    matrix = matrix.assign(ipm_nm=np.nan)  # e.g. a state without a poverty index yet
    for name in MEMBERS:
        predicted = make_model(name, SMALL, seed=1).fit(matrix, target).predict(matrix)
        assert np.isfinite(predicted).all(), name


def test_the_random_forest_predicts_the_same_bits_every_time_and_in_any_chunks(training):
    # scikit-learn's forest adds its trees' predictions in the order its threads finish:
    # the last bits changed from call to call, so a rerun (or a Dask worker) could rank
    # two close prospects the other way round.
    _, matrix, target = training
    sizes = ModelSizes(forest_trees=40, forest_depth=10, forest_max_samples=500, threads=2)
    model = make_model("random_forest", sizes, seed=1).fit(matrix, target)
    rows = pd.concat([matrix] * 40, ignore_index=True)  # enough rows for both threads
    first = model.predict(rows)
    for _ in range(8):
        assert np.array_equal(model.predict(rows), first)
    halves = np.concatenate([model.predict(rows.iloc[:1000]), model.predict(rows.iloc[1000:])])
    assert np.array_equal(halves, first)
