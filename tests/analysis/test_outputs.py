"""Scoring, aggregation, the output files and the model card on small frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.analysis import outputs, scoring, study
from flows.analysis.models import MODEL_NAMES, ModelSizes
from tests.analysis.small_data import warehouse_data

SMALL = ModelSizes(lightgbm_trees=30, forest_trees=10, forest_depth=6, forest_max_samples=500)


def test_interval_factors_cover_80_percent_of_the_ratios():
    predicted = np.full(1000, 100.0)
    observed = predicted * np.exp(np.linspace(-1, 1, 1000))
    low, high = scoring.interval_factors(observed, predicted)
    assert low == pytest.approx(np.exp(-0.8), rel=0.01)
    assert high == pytest.approx(np.exp(0.8), rel=0.01)
    inside = (observed >= predicted * low) & (observed <= predicted * high)
    assert inside.mean() == pytest.approx(0.8, abs=0.01)


def test_score_is_purchase_rate_times_value():
    prospects = pd.DataFrame({"channel": ["bar", "bar"], "category": ["Cerveja", "Vinho"]})
    rates = pd.DataFrame({"channel": ["bar"], "category": ["Cerveja"], "purchase_rate": [0.5]})
    scored = scoring.score_prospects(prospects, np.array([100.0, 100.0]), rates, (0.5, 2.0))
    assert scored["score"].tolist() == [50.0, 0.0]  # a category the channel never bought: 0
    assert scored["predicted_low"].tolist() == [25.0, 0.0]
    assert scored["predicted_high"].tolist() == [100.0, 0.0]


def _place(hash_, channel="bar", city="A"):
    return {"cnpj_hash": hash_, "uf": "SP", "ibge_code": city, "city": city, "channel": channel}


def test_potential_by_region_counts_and_sums():
    places = [_place("c1"), _place("p1"), _place("p2"), _place("p3", city="B")]
    establishments = pd.DataFrame(places)
    scored = pd.DataFrame(
        [
            {**_place("p1"), "category": "Cerveja", "score": 10.0, "predicted_low": 5.0,
             "predicted_high": 20.0},
            {**_place("p2"), "category": "Cerveja", "score": 30.0, "predicted_low": 15.0,
             "predicted_high": 60.0},
            {**_place("p3", city="B"), "category": "Cerveja", "score": 7.0, "predicted_low": 1.0,
             "predicted_high": 9.0},
        ]
    )  # fmt: skip
    sales = pd.DataFrame(
        {"cnpj_hash": ["c1", "c1"], "category": ["Cerveja", "Cerveja"], "sales_value": [60, 90]}
    )
    region = scoring.potential_by_region(establishments, {"c1"}, scored, sales, ["Cerveja"], 3)
    city_a = region[region["city"] == "A"].iloc[0]
    assert (city_a["establishments"], city_a["customers"]) == (3, 1)
    assert city_a["predicted_value"] == 40.0
    assert (city_a["predicted_low"], city_a["predicted_high"]) == (20.0, 80.0)
    assert city_a["observed_sales"] == 50.0  # 150 over 3 months
    assert region[region["city"] == "B"].iloc[0]["observed_sales"] == 0.0


def test_top_prospects_rank_per_city_and_category_and_hide_personal_names():
    scored = pd.DataFrame(
        {
            **{k: [v] * 4 for k, v in _place("x").items() if k != "cnpj_hash"},
            "cnpj_hash": ["a", "b", "c", "d"],
            "category": ["Cerveja"] * 4,
            "score": [1.0, 4.0, 3.0, 2.0],
            "nome_fantasia": ["BAR A", "MARIA DA SILVA", "BAR C", "JOSE SOUZA"],
            "natureza_juridica": ["2062", "2135", "2062", "2062"],
            "opcao_mei": ["N", "N", "N", "S"],
        }
    )
    best = scoring.top_prospects(scored, frozenset({"2135"}), per_group=3)
    assert best["cnpj_hash"].tolist() == ["b", "c", "d"]
    assert best["prospect_rank"].tolist() == [1, 2, 3]
    assert best["nome_fantasia"].isna().tolist() == [True, False, True]


def test_read_outputs_checks_files_keys_and_schemas(tmp_path):
    with pytest.raises(outputs.OutputError, match="missing output files"):
        outputs.read_outputs(tmp_path)
    empty = {name: [] for name in outputs.POTENTIAL_SCHEMA.names}
    potential = pa.table(empty, schema=outputs.POTENTIAL_SCHEMA)
    prospects = pa.table(
        {name: [] for name in outputs.PROSPECTS_SCHEMA.names}, schema=outputs.PROSPECTS_SCHEMA
    )
    metrics = {key: None for key in outputs.METRICS_KEYS}
    outputs.write_outputs(tmp_path, metrics, potential, prospects, "# card")
    read = outputs.read_outputs(tmp_path)
    assert read["metrics"] == metrics and read["model_card"] == "# card"
    assert read["potential_by_region"].schema.equals(outputs.POTENTIAL_SCHEMA)
    pq.write_table(prospects.drop_columns(["score"]), tmp_path / outputs.PROSPECTS_FILE)
    with pytest.raises(outputs.OutputError, match=r"top_prospects\.parquet: schema"):
        outputs.read_outputs(tmp_path)
    (tmp_path / outputs.METRICS_FILE).write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(outputs.OutputError, match="missing keys release"):
        outputs.read_outputs(tmp_path)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outputs")
    prepared = study.prepare(warehouse_data(establishments=160), None, 0, seed=1)
    cv, month, holdout = study.validate(prepared, 3, SMALL, seed=1, progress=lambda _: None)
    importance = study.held_out_importance(prepared, cv, seed=1)
    scored = study.score(prepared, cv, SMALL, seed=1)
    metrics = study.write(prepared, cv, month, holdout, scored, importance, "run-1", folder)
    return folder, metrics, prepared


def test_the_study_writes_the_documented_outputs(written):
    folder, metrics, prepared = written
    read = outputs.read_outputs(folder)
    assert list(read["metrics"]) == list(outputs.METRICS_KEYS)
    assert set(metrics["models"]) == set(MODEL_NAMES) == set(metrics["holdout"]["models"])
    assert metrics["cv"] == {"folds": 3, "grouping": "establishment"}
    assert metrics["window"] == {"start": "2026-01", "end": "2026-06"}
    assert metrics["holdout"]["month"] == "2026-06"
    assert set(metrics["ensemble_weights"]) == {"lightgbm", "random_forest", "linear"}
    headline = metrics["headline"]
    assert headline["improvement_vs_baseline"] == pytest.approx(
        1 - headline["ensemble_rmse"] / headline["baseline_rmse"]
    )
    non_customers = len(prepared.features) - len(prepared.data.customers)
    assert headline["prospects_scored"] == non_customers
    region = read["potential_by_region"].to_pandas()
    assert (region["run_id"] == "run-1").all()
    assert region["establishments"].sum() == 2 * len(prepared.features)  # × 2 categories
    assert (region["predicted_low"] <= region["predicted_value"]).all()
    assert (region["predicted_value"] <= region["predicted_high"]).all()
    best = read["top_prospects"].to_pandas()
    assert best.groupby(["uf", "ibge_code", "category"])["prospect_rank"].max().max() <= 10
    assert best.loc[best["cnpj_hash"].isin(prepared.data.customers)].empty
    assert str(read["top_prospects"].schema.field("scored_at").type) == "timestamp[us, tz=UTC]"


def test_the_model_card_has_the_sections_of_a_model_card(written):
    card = outputs.read_outputs(written[0])["model_card"]
    for section in ("Model details", "Intended use", "Data", "Validation", "Known limits",
                    "Ethical considerations", "Ensemble per channel"):  # fmt: skip
        assert f"## {section}" in card or f"### {section}" in card
    assert "supermarket" in card and "run-1" in card
