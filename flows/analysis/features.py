"""Model inputs: one row per establishment × category × month, from the warehouse frames.

The target is the partner's sales value (R$) to a customer establishment in one category
and month, for the months it bought that category. How often a channel buys a category
is a separate, simple rate (``purchase_rates``); potential = rate × predicted value.
A city or neighbourhood enters through what is measured about it (population, IPM-NM,
POF spending, density, competition), not as an identifier the models could memorise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

CATEGORICAL = ["channel", "cnae", "category", "uf", "porte", "capital_bracket"]
NUMERIC = [
    "month_of_year",
    "is_filial",
    "is_mei",
    "is_simples",
    "log_capital",
    "age_years",
    "log_population",
    "ipm_nm",
    "pof_category_spending",
    "pof_household_income",
    "food_spending_per_family",
    "establishment_density",
    "competition",
    "neighbourhood_outlets",
]
FEATURES = CATEGORICAL + NUMERIC
TARGET = "sales_value"

# What each feature means to a consultant (charts and the model card use these).
BUSINESS_NAMES = {
    "channel": "channel (restaurant, bar, supermarket...)",
    "cnae": "activity code (CNAE)",
    "category": "product category",
    "uf": "state",
    "porte": "company size class (porte)",
    "capital_bracket": "share capital bracket",
    "month_of_year": "month of the year (season)",
    "is_filial": "branch rather than head office",
    "is_mei": "micro-entrepreneur (MEI)",
    "is_simples": "in the Simples tax regime",
    "log_capital": "share capital",
    "age_years": "years in business",
    "log_population": "city population",
    "ipm_nm": "state poverty index (IPM-NM)",
    "pof_category_spending": "state household spending on the category (POF)",
    "pof_household_income": "state household income (POF)",
    "food_spending_per_family": "state monthly food spending per family (POF)",
    "establishment_density": "outlets per 1,000 inhabitants in the city",
    "competition": "outlets of the same channel in the city",
    "neighbourhood_outlets": "outlets of the same channel in the neighbourhood",
}
# Features that carry the same information are shuffled together for importance
# (shuffling the channel alone tells nothing while the CNAE still gives it away).
IMPORTANCE_GROUPS = {
    "channel and activity code (CNAE)": ["channel", "cnae"],
    "company size (porte, share capital)": ["porte", "capital_bracket", "log_capital"],
    "state (UF, POF income and food spending, IPM-NM)": [
        "uf",
        "pof_household_income",
        "food_spending_per_family",
        "ipm_nm",
    ],
}


def importance_groups() -> dict[str, list[str]]:
    """Business label -> the feature columns shuffled together."""
    grouped = {column for columns in IMPORTANCE_GROUPS.values() for column in columns}
    singles = {BUSINESS_NAMES[c]: [c] for c in FEATURES if c not in grouped}
    return {**IMPORTANCE_GROUPS, **singles}


CAPITAL_BINS = [-np.inf, 10_000, 50_000, 200_000, 1_000_000, np.inf]
CAPITAL_LABELS = ["<10k", "10k-50k", "50k-200k", "200k-1M", ">1M"]


def pof_by_uf(pof: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(uf_code × category monthly spending per family, uf_code household income), weighted.

    Accepts the POF as household records (spending, expansion weight, income) or already
    aggregated per UF × category (``monthly_spending_per_family_brl``, no income: then the
    income feature is missing and the models do without it)."""
    if "monthly_spending_per_family_brl" in pof:
        spending = pof.rename(columns={"monthly_spending_per_family_brl": "pof_category_spending"})
        income = pd.DataFrame({"uf_code": pd.Series(dtype=str), "pof_household_income": []})
        return spending[["uf_code", "category", "pof_category_spending"]], income
    households = pof.groupby(
        ["uf_code", "cod_upa", "household_number", "consumption_unit"], as_index=False
    ).agg(weight=("expansion_weight", "max"), income=("monthly_income_brl", "max"))
    totals = households.groupby("uf_code").agg(weight=("weight", "sum"))
    households["weighted_income"] = households["income"] * households["weight"]
    income = households.groupby("uf_code")["weighted_income"].sum() / totals["weight"]
    weighted = pof.assign(spent=pof["annual_spending_brl"] * pof["expansion_weight"])
    spending = weighted.groupby(["uf_code", "category"], as_index=False)["spent"].sum()
    spending["pof_category_spending"] = (
        spending["spent"] / spending["uf_code"].map(totals["weight"]) / 12
    )
    return (
        spending[["uf_code", "category", "pof_category_spending"]],
        income.rename("pof_household_income").reset_index(),
    )


def region_features(regions: pd.DataFrame) -> pd.DataFrame:
    """Population, IPM-NM and monthly food spending per family, per IBGE municipality
    (the view gives annual household spending, or monthly per family from issue 11 on)."""
    region = regions[["ibge_code", "population", "ipm_nm"]].copy()
    if "monthly_food_spending_per_family" in regions:
        region["food_spending_per_family"] = regions["monthly_food_spending_per_family"]
    else:
        region["food_spending_per_family"] = regions["food_spending_per_household"] / 12
    return region


def establishment_features(
    establishments: pd.DataFrame, regions: pd.DataFrame, pof: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """One row per establishment: its registry features and its city's and state's."""
    frame = establishments.copy()
    started = pd.to_datetime(frame["started_on"])
    frame["age_years"] = ((pd.Timestamp(as_of) - started).dt.days / 365.25).clip(lower=0)
    frame["is_filial"] = (frame["matriz_filial"] == "2").astype(float)
    frame["is_mei"] = (frame["opcao_mei"] == "S").astype(float)
    frame["is_simples"] = (frame["opcao_simples"] == "S").astype(float)
    capital = frame["capital_social"].astype(float)
    frame["log_capital"] = np.log1p(capital.clip(lower=0))
    frame["capital_bracket"] = as_text(pd.cut(capital, CAPITAL_BINS, labels=CAPITAL_LABELS))
    frame["uf_code"] = frame["ibge_code"].str[:2]
    frame = frame.merge(region_features(regions), on="ibge_code", how="left")
    outlets = frame.groupby("ibge_code")["cnpj_hash"].transform("size")
    frame["log_population"] = np.log(frame["population"].astype(float).clip(lower=1))
    frame["establishment_density"] = outlets / frame["population"].astype(float) * 1_000
    frame["competition"] = frame.groupby(["ibge_code", "channel"])["cnpj_hash"].transform("size")
    frame["neighbourhood_outlets"] = frame.groupby(["ibge_code", "channel", "neighbourhood"])[
        "cnpj_hash"
    ].transform("size")
    _, income = pof_by_uf(pof)
    return frame.merge(income, on="uf_code", how="left")


def with_category(frame: pd.DataFrame, pof: pd.DataFrame) -> pd.DataFrame:
    """Add the state's POF spending on each row's category."""
    spending, _ = pof_by_uf(pof)
    return frame.merge(spending, on=["uf_code", "category"], how="left")


def training_rows(
    features: pd.DataFrame,
    monthly_sales: pd.DataFrame,
    pof: pd.DataFrame,
    categories: list[str] | None = None,
) -> pd.DataFrame:
    """Customer × category × month rows with the target, for the customers in the registry."""
    sales = monthly_sales
    if categories:
        sales = sales[sales["category"].isin(categories)]
    rows = sales.merge(features, on="cnpj_hash", how="inner")
    rows["month_of_year"] = rows["month"].str[5:7].astype(int)
    rows = with_category(rows, pof)
    return rows.sort_values(["cnpj_hash", "category", "month"]).reset_index(drop=True)


def purchase_rates(
    monthly_sales: pd.DataFrame, features: pd.DataFrame, customers: set[str], months: int
) -> pd.DataFrame:
    """Share of a channel's customer-months with a purchase in each category."""
    located = features[features["cnpj_hash"].isin(customers)]
    per_channel = located.groupby("channel").size().rename("customers")
    bought = monthly_sales.merge(located[["cnpj_hash", "channel"]], on="cnpj_hash")
    counts = bought.groupby(["channel", "category"]).size().rename("purchases").reset_index()
    counts["purchase_rate"] = (
        counts["purchases"] / (counts["channel"].map(per_channel) * months)
    ).clip(upper=1.0)
    return counts[["channel", "category", "purchase_rate"]]


def prospect_rows(
    features: pd.DataFrame,
    customers: set[str],
    categories: list[str],
    month: str,
    pof: pd.DataFrame,
) -> pd.DataFrame:
    """Every non-customer establishment × category, as of ``month`` (``YYYY-MM``)."""
    prospects = features[~features["cnpj_hash"].isin(customers)]
    grid = prospects.merge(pd.DataFrame({"category": categories}), how="cross")
    grid["month"] = month
    grid["month_of_year"] = int(month[5:7])
    return with_category(grid, pof).reset_index(drop=True)


def as_text(values: pd.Series) -> pd.Series:
    """A categorical feature as plain strings, a missing value as ``unknown``."""
    return values.astype(object).where(values.notna(), "unknown").astype(str)


def model_matrix(rows: pd.DataFrame, levels: dict[str, list[str]]) -> pd.DataFrame:
    """The feature columns, categoricals with fixed levels (the same in every fit)."""
    matrix = rows[FEATURES].copy()
    for column in CATEGORICAL:
        matrix[column] = pd.Categorical(as_text(matrix[column]), categories=levels[column])
    for column in NUMERIC:
        matrix[column] = matrix[column].astype(float)
    return matrix


def category_levels(*frames: pd.DataFrame) -> dict[str, list[str]]:
    """The levels of each categorical feature across the frames that have it."""
    return {
        column: sorted(
            set().union(*(set(as_text(f[column]).unique()) for f in frames if column in f))
        )
        for column in CATEGORICAL
    }
