"""Feature building on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.analysis import features as F
from tests.analysis.small_data import AS_OF, warehouse_data


@pytest.fixture
def data():
    return warehouse_data()


def test_pof_spending_is_read_per_uf_and_category(data):
    spending = F.pof_by_uf(data.pof).set_index(["uf_code", "category"])["pof_category_spending"]
    assert spending[("35", "Cerveja")] == 175.0
    assert spending[("29", "Vinho")] == 10.0


def test_establishment_features_flags_age_and_competition(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    assert len(features) == len(data.establishments)
    first = features.iloc[0]
    started = data.establishments.iloc[0]["started_on"]  # a copy: the registry keeps it
    expected_age = (pd.Timestamp(AS_OF) - started).days / 365.25
    assert first["age_years"] == pytest.approx(expected_age)
    assert set(features["is_mei"]) <= {0.0, 1.0}
    assert (features["is_mei"] == (features["opcao_mei"] == "S")).all()
    same = features[
        (features["ibge_code"] == first["ibge_code"]) & (features["channel"] == first["channel"])
    ]
    assert first["competition"] == len(same)
    assert first["log_population"] == pytest.approx(
        np.log(data.regions.set_index("ibge_code").loc[first["ibge_code"], "population"])
    )
    assert set(features["capital_bracket"]) <= set(F.CAPITAL_LABELS)


def test_features_built_in_place_equal_the_copy_and_drop_the_consumed_columns(data):
    """At national size the registry frame becomes the features (one frame, not two)."""
    copy = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    registry = data.establishments.copy()
    built = F.establishment_features(registry, data.regions, data.pof, AS_OF, in_place=True)
    assert built is registry
    assert not set(F.CONSUMED) & set(built.columns)
    pd.testing.assert_frame_equal(built, copy)
    assert set(F.FEATURES) - {"category", "month_of_year", "pof_category_spending"} <= set(built)


def test_training_rows_are_customers_of_the_chosen_categories(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    rows = F.training_rows(features, data.monthly_sales, data.pof, ["Vinho"])
    assert set(rows["category"]) == {"Vinho"}
    assert set(rows["cnpj_hash"]) <= data.customers
    assert rows["month_of_year"].between(1, 6).all()
    assert rows["pof_category_spending"].notna().all()
    assert rows[F.TARGET].sum() == pytest.approx(
        data.monthly_sales.query("category == 'Vinho'")["sales_value"].sum()
    )


def test_purchase_rates_are_shares_of_customer_months(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    rates = F.purchase_rates(data.monthly_sales, features, data.customers, months=6)
    assert rates["purchase_rate"].between(0.5, 0.9).all()  # planted 0.7


def test_model_matrix_keeps_fixed_levels_and_marks_missing_as_unknown(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    features.loc[0, "porte"] = None
    rows = features.assign(category="Cerveja", month_of_year=1, pof_category_spending=1.0)
    levels = F.category_levels(rows, pd.DataFrame({"category": ["Cerveja", "Vinho"]}))
    matrix = F.model_matrix(rows, levels)
    assert list(matrix.columns) == F.FEATURES
    assert matrix["porte"].iloc[0] == "unknown"
    assert list(matrix["category"].cat.categories) == ["Cerveja", "Vinho"]
    assert "unknown" in levels["porte"]


def test_every_feature_has_a_business_name_and_one_importance_group():
    for model in ("spend", "conversion"):
        columns = F.feature_names(model)
        assert all(F.BUSINESS_NAMES[c] for c in columns)
        grouped = [c for group in F.importance_groups(model).values() for c in group]
        assert sorted(grouped) == sorted(columns)
    assert F.feature_names("spend") == F.FEATURES
    assert "city_customer_rate" in F.CONVERSION_FEATURES
    assert "city_customer_rate" not in F.FEATURES  # the spend model never sees labels


def test_adding_a_feature_is_one_table_entry(monkeypatch):
    extra = F.Feature("shelf_space", "numeric", "shelf space (m²)", models=("spend",))
    monkeypatch.setattr(F, "FEATURE_TABLE", (*F.FEATURE_TABLE, extra))
    assert "shelf_space" in F.feature_names("spend")
    assert F.importance_groups()["shelf space (m²)"] == ["shelf_space"]
    assert "shelf_space" not in F.feature_names("conversion")
