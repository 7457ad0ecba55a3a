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


def test_pof_weights_households_and_turns_annual_into_monthly(data):
    spending, income = F.pof_by_uf(data.pof)
    sp = spending.set_index(["uf_code", "category"])["pof_category_spending"]
    # SP households: weights 100 and 300 (total 400); beer 1200*100 + 2400*300 a year.
    assert sp[("35", "Cerveja")] == pytest.approx((1200 * 100 + 2400 * 300) / 400 / 12)
    assert sp[("35", "Vinho")] == pytest.approx(600 * 100 / 400 / 12)
    by_uf = income.set_index("uf_code")["pof_household_income"]
    assert by_uf["35"] == pytest.approx((5000 * 100 + 7000 * 300) / 400)


def test_establishment_features_flags_age_and_competition(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    assert len(features) == len(data.establishments)
    first = features.iloc[0]
    expected_age = (pd.Timestamp(AS_OF) - first["started_on"]).days / 365.25
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


def test_prospects_are_the_non_customers_times_categories(data):
    features = F.establishment_features(data.establishments, data.regions, data.pof, AS_OF)
    prospects = F.prospect_rows(features, data.customers, ["Cerveja", "Vinho"], "2026-07", data.pof)
    non_customers = len(data.establishments) - len(data.customers)
    assert len(prospects) == 2 * non_customers
    assert not set(prospects["cnpj_hash"]) & data.customers
    assert (prospects["month_of_year"] == 7).all()


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
    assert set(F.BUSINESS_NAMES) == set(F.FEATURES)
    grouped = [c for columns in F.importance_groups().values() for c in columns]
    assert sorted(grouped) == sorted(F.FEATURES)


def aggregated_public_tables(data):
    """The shapes of issue 11: POF per UF × category, the view's monthly food spending."""
    spending, _ = F.pof_by_uf(data.pof)
    pof = spending.rename(columns={"pof_category_spending": "monthly_spending_per_family_brl"})
    regions = data.regions.rename(
        columns={"food_spending_per_household": "monthly_food_spending_per_family"}
    )
    return pof.assign(families_weighted=1.0), regions.assign(poor_share=0.1)


def test_features_accept_the_aggregated_pof_and_the_renamed_view(data):
    pof, regions = aggregated_public_tables(data)
    features = F.establishment_features(data.establishments, regions, pof, AS_OF)
    assert features["pof_household_income"].isna().all()  # not published in that shape
    assert set(features["food_spending_per_family"]) == {12_000.0, 9_000.0}
    rows = F.training_rows(features, data.monthly_sales, pof)
    old = F.training_rows(
        F.establishment_features(data.establishments, data.regions, data.pof, AS_OF),
        data.monthly_sales,
        data.pof,
    )
    assert rows["pof_category_spending"].tolist() == pytest.approx(
        old["pof_category_spending"].tolist()
    )
