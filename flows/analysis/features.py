"""Model inputs: one row per establishment × category × month, from the warehouse frames.

The target is the partner's sales value (R$) to a customer establishment in one category
and month, for the months it bought that category. How often a channel buys a category
is a separate, simple rate (``purchase_rates``); potential = rate × predicted value.
A city or neighbourhood enters through what is measured about it (population, IPM-NM,
POF spending, density, competition), not as an identifier the models could memorise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Feature:
    """One model input: its column, kind, what it means to a consultant, the importance
    group it is shuffled with (None: alone, under its label), and which models use it."""

    name: str
    kind: str  # "categorical" or "numeric"
    label: str
    group: str | None = None
    models: tuple[str, ...] = ("spend", "conversion")


CHANNEL_GROUP = "canal e atividade (CNAE)"
SIZE_GROUP = "tamanho da empresa (porte, capital social)"
STATE_GROUP = "UF (gasto com alimentação da POF, IPM-NM)"
LOOKALIKE_GROUP = "clientes por perto (cidade, bairro, UF; fora da parte)"
SPEND = ("spend",)
CONVERSION = ("conversion",)

# The one declared table: adding a feature is one entry here plus its builder below.
FEATURE_TABLE = (
    Feature("channel", "categorical", "canal (restaurante, bar, supermercado...)", CHANNEL_GROUP),
    Feature("cnae", "categorical", "atividade (CNAE)", CHANNEL_GROUP, SPEND),
    Feature("category", "categorical", "categoria de produto", models=SPEND),
    Feature("uf", "categorical", "UF", STATE_GROUP),
    Feature("porte", "categorical", "porte da empresa", SIZE_GROUP),
    Feature("capital_bracket", "categorical", "faixa de capital social", SIZE_GROUP),
    Feature("month_of_year", "numeric", "mês do ano (estação)", models=SPEND),
    Feature("is_filial", "numeric", "filial, não matriz"),
    Feature("is_mei", "numeric", "microempreendedor (MEI)"),
    Feature("is_simples", "numeric", "optante do Simples"),
    Feature("log_capital", "numeric", "capital social", SIZE_GROUP),
    Feature("age_years", "numeric", "anos de atividade"),
    Feature("log_population", "numeric", "população da cidade"),
    Feature("ipm_nm", "numeric", "índice de pobreza da UF (IPM-NM)", STATE_GROUP),
    Feature(
        "pof_category_spending",
        "numeric",
        "gasto das famílias da UF com a categoria (POF)",
        models=SPEND,
    ),
    Feature(
        "food_spending_per_family",
        "numeric",
        "gasto mensal com alimentação por família na UF (POF)",
        STATE_GROUP,
    ),
    Feature("establishment_density", "numeric", "estabelecimentos por mil habitantes na cidade"),
    Feature("competition", "numeric", "estabelecimentos do mesmo canal na cidade"),
    Feature("neighbourhood_outlets", "numeric", "estabelecimentos do mesmo canal no bairro"),
    Feature(
        "city_customer_rate",
        "numeric",
        "parte dos estabelecimentos da cidade que são clientes",
        LOOKALIKE_GROUP,
        CONVERSION,
    ),
    Feature(
        "neighbourhood_customer_rate",
        "numeric",
        "parte dos estabelecimentos do bairro que são clientes",
        LOOKALIKE_GROUP,
        CONVERSION,
    ),
    Feature(
        "uf_customer_rate",
        "numeric",
        "parte dos estabelecimentos da UF que são clientes",
        LOOKALIKE_GROUP,
        CONVERSION,
    ),
)


def feature_names(model: str, kind: str | None = None) -> list[str]:
    """The columns a model uses (optionally of one kind), in the table's order."""
    return [f.name for f in FEATURE_TABLE if model in f.models and (kind is None or f.kind == kind)]


CATEGORICAL = feature_names("spend", "categorical")
NUMERIC = feature_names("spend", "numeric")
FEATURES = CATEGORICAL + NUMERIC
CONVERSION_CATEGORICAL = feature_names("conversion", "categorical")
CONVERSION_FEATURES = feature_names("conversion")
TARGET = "sales_value"
BUSINESS_NAMES = {f.name: f.label for f in FEATURE_TABLE}


def importance_groups(model: str = "spend") -> dict[str, list[str]]:
    """Business label -> the feature columns shuffled together (related columns share a
    group: shuffling the channel alone tells nothing while the CNAE still gives it away)."""
    groups: dict[str, list[str]] = {}
    for f in FEATURE_TABLE:
        if model in f.models:
            groups.setdefault(f.group or f.label, []).append(f.name)
    return groups


CAPITAL_BINS = [-np.inf, 10_000, 50_000, 200_000, 1_000_000, np.inf]
CAPITAL_LABELS = ["<10k", "10k-50k", "50k-200k", "200k-1M", ">1M"]


def pof_by_uf(pof: pd.DataFrame) -> pd.DataFrame:
    """uf_code × category monthly spending per family (``core.pof_food_spending``)."""
    spending = pof.rename(columns={"monthly_spending_per_family_brl": "pof_category_spending"})
    return spending[["uf_code", "category", "pof_category_spending"]]


def region_features(regions: pd.DataFrame) -> pd.DataFrame:
    """Population, IPM-NM and monthly food spending per family, per IBGE municipality."""
    region = regions[["ibge_code", "population", "ipm_nm"]].copy()
    region["food_spending_per_family"] = regions["monthly_food_spending_per_family"]
    return region


# Registry columns the features are made from and nothing reads afterwards.
CONSUMED = ("started_on", "capital_social", "matriz_filial", "opcao_simples")


def establishment_features(
    establishments: pd.DataFrame,
    regions: pd.DataFrame,
    pof: pd.DataFrame,
    as_of: dt.date,
    in_place: bool = False,
) -> pd.DataFrame:
    """One row per establishment: its registry features and its city's and state's. The
    registry columns only features are made from (``CONSUMED``) are dropped. With
    ``in_place`` the columns are added to ``establishments`` itself and it is returned: at
    national size (millions of rows) there is then one frame, not the registry and a copy."""
    frame = establishments if in_place else establishments.copy()
    started = pd.to_datetime(frame["started_on"])
    frame["age_years"] = ((pd.Timestamp(as_of) - started).dt.days / 365.25).clip(lower=0)
    del started
    frame["is_filial"] = (frame["matriz_filial"] == "2").astype(float)
    frame["is_mei"] = (frame["opcao_mei"] == "S").astype(float)
    frame["is_simples"] = (frame["opcao_simples"] == "S").astype(float)
    capital = frame["capital_social"].astype(float)
    frame["log_capital"] = np.log1p(capital.clip(lower=0))
    frame["capital_bracket"] = as_text(pd.cut(capital, CAPITAL_BINS, labels=CAPITAL_LABELS))
    frame["capital_bracket"] = frame["capital_bracket"].astype("category")
    del capital
    ibge = frame["ibge_code"].astype("category")  # (no copy when it is one already)
    frame["uf_code"] = prefix(ibge, 2)
    # The city's figures by lookup per distinct city, not a merge (which copies every
    # column of every row).
    region = region_features(regions).drop_duplicates("ibge_code").set_index("ibge_code")
    cities = pd.Index(ibge.cat.categories)
    for column in region.columns:
        per_city = region[column].reindex(cities).to_numpy(dtype=float)
        codes = ibge.cat.codes.to_numpy()
        frame[column] = np.where(codes < 0, np.nan, per_city[np.maximum(codes, 0)])
    del ibge
    population = frame["population"]
    outlets = frame.groupby("ibge_code", observed=True)["cnpj_hash"].transform("size")
    frame["log_population"] = np.log(population.clip(lower=1))
    frame["establishment_density"] = outlets / population * 1_000
    frame["competition"] = frame.groupby(["ibge_code", "channel"], observed=True)[
        "cnpj_hash"
    ].transform("size")
    frame["neighbourhood_outlets"] = frame.groupby(
        ["ibge_code", "channel", "neighbourhood"], observed=True
    )["cnpj_hash"].transform("size")
    for column in [*CONSUMED, "population"]:
        del frame[column]
    return frame


def prefix(values: pd.Series, length: int) -> pd.Series:
    """The first ``length`` characters of each value, as categories (computed once per
    distinct value; a missing value stays missing)."""
    values = values.astype("category")
    firsts = pd.Index(values.cat.categories.astype(str).str[:length])
    uniques = firsts.unique()
    codes = values.cat.codes.to_numpy()
    mapped = uniques.get_indexer(firsts)[np.maximum(codes, 0)] if len(firsts) else codes
    codes = np.where(codes < 0, -1, mapped)
    return pd.Series(pd.Categorical.from_codes(codes, categories=uniques), index=values.index)


def with_category(frame: pd.DataFrame, pof: pd.DataFrame) -> pd.DataFrame:
    """Add the state's POF spending on each row's category."""
    return frame.merge(pof_by_uf(pof), on=["uf_code", "category"], how="left")


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
    # Only the establishments that bought: a merge with every establishment would hash
    # all of them (millions of keys at national size) to find a few thousand customers.
    bought = features[features["cnpj_hash"].isin(sales["cnpj_hash"].unique())]
    rows = sales.merge(bought, on="cnpj_hash", how="inner")
    rows["month_of_year"] = rows["month"].str[5:7].astype(int)
    rows = with_category(rows, pof)
    return rows.sort_values(["cnpj_hash", "category", "month"]).reset_index(drop=True)


def purchase_rates(
    monthly_sales: pd.DataFrame, features: pd.DataFrame, customers: set[str], months: int
) -> pd.DataFrame:
    """Share of a channel's customer-months with a purchase in each category."""
    located = features.loc[features["cnpj_hash"].isin(customers), ["cnpj_hash", "channel"]]
    located["channel"] = located["channel"].astype(object)  # plain labels, not categories
    per_channel = located.groupby("channel").size().rename("customers")
    bought = monthly_sales.merge(located[["cnpj_hash", "channel"]], on="cnpj_hash")
    counts = bought.groupby(["channel", "category"]).size().rename("purchases").reset_index()
    counts["purchase_rate"] = (
        counts["purchases"] / (counts["channel"].map(per_channel) * months)
    ).clip(upper=1.0)
    return counts[["channel", "category", "purchase_rate"]]


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
