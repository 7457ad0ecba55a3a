"""The marketing infographic's data and sections (``notebooks/infographic.ipynb``).

What the original dashboard answered, from the warehouse's mart views, plus the
analysis's predicted potential and best prospects from its output folder. Each
``*_section`` function takes plain DataFrames and returns an SVG chart or an HTML table
with Portuguese labels and Brazilian number formats, so the notebook only wires them
and tests call them with small frames.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd
import sqlalchemy as sa

from flows.reports.charts import bar_chart, line_chart, uf_tile_grid
from flows.reports.formatting import brl, compacto, inteiro, numero, percentual

CHANNELS_PT = {
    "restaurant": "Restaurantes",
    "snack_bar": "Lanchonetes",
    "bar": "Bares",
    "bar_with_entertainment": "Bares com entretenimento",
    "buffet_events": "Bufês e eventos",
    "hypermarket": "Hipermercados",
    "supermarket": "Supermercados",
    "minimarket": "Minimercados",
    "wholesale": "Atacado",
}
QUERIES = {
    "establishments": (
        "SELECT channel, SUM(establishments) AS establishments "
        "FROM mart.establishments_by_channel GROUP BY channel"
    ),
    "sales": (
        "SELECT category, sale_month, uf, SUM(quantity) AS quantity, "
        "SUM(sales_value) AS sales_value FROM mart.sales_by_category_month_uf "
        "GROUP BY category, sale_month, uf"
    ),
    "neighbourhoods": (
        "SELECT uf, city, neighbourhood, sales_value, customers FROM mart.sales_by_neighbourhood "
        "WHERE neighbourhood IS NOT NULL"
    ),
}


def channel_pt(channel: str | None) -> str:
    return CHANNELS_PT.get(channel or "", channel or "sem canal")


def load_warehouse_data(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    """The mart views the infographic reads (any warehouse dialect)."""
    with engine.connect() as connection:
        return {
            name: pd.read_sql_query(sa.text(query), connection) for name, query in QUERIES.items()
        }


def _cell(value: object) -> str:
    """Escaped, and ``R$`` kept on the same line as its amount on narrow screens."""
    return escape(str(value)).replace("R$ ", "R$&nbsp;")


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(column))}</th>" for column in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<table class="bigd-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def establishments_section(establishments: pd.DataFrame) -> str:
    data = establishments.sort_values("establishments", ascending=False)
    return bar_chart(
        [channel_pt(c) for c in data["channel"]],
        [int(v) for v in data["establishments"]],
        "Estabelecimentos ativos por canal",
        fmt=inteiro,
    )


def kpi_section(sales: pd.DataFrame, categories: list[str] | None = None) -> str:
    """Quantity and value sold per category as KPI cards."""
    totals = sales.groupby("category", as_index=False)[["quantity", "sales_value"]].sum()
    if categories:
        totals = totals[totals["category"].isin(categories)]
    totals = totals.sort_values("sales_value", ascending=False)
    cards = "".join(
        '<div style="flex:1 1 200px;border:1px solid #ddd;border-radius:8px;padding:12px">'
        f'<div style="font-size:1.1em;font-weight:600">{escape(str(row.category))}</div>'
        f'<div style="font-size:1.5em;color:#1b6ca8">{escape(brl(row.sales_value))}</div>'
        f"<div>{escape(inteiro(row.quantity))} unidades vendidas</div></div>"
        for row in totals.itertuples()
    )
    return f'<div style="display:flex;flex-wrap:wrap;gap:10px">{cards}</div>'


def monthly_section(sales: pd.DataFrame, categories: list[str]) -> str:
    """Monthly value sold per category (e.g. beer vs wine)."""
    chosen = sales[sales["category"].isin(categories)]
    monthly = chosen.groupby(["sale_month", "category"])["sales_value"].sum().unstack("category")
    monthly = monthly.sort_index()
    months = [pd.Timestamp(m).strftime("%m/%Y") for m in monthly.index]
    series = {
        category: [None if pd.isna(v) else float(v) for v in monthly.get(category, [])]
        for category in categories
        if category in monthly
    }
    return line_chart(
        months,
        series,
        "Vendas mensais por categoria (R$)",
        fmt=lambda v: compacto(v, moeda=True),
    )


def uf_sales_section(sales: pd.DataFrame) -> str:
    per_uf = sales.groupby("uf")["sales_value"].sum()
    return uf_tile_grid(
        {str(uf): float(v) for uf, v in per_uf.items()},
        "Vendas por UF (R$)",
        fmt=compacto,
    )


def uf_potential_section(potential: pd.DataFrame) -> str:
    per_uf = potential.groupby("uf")["predicted_value"].sum()
    return uf_tile_grid(
        {str(uf): float(v) for uf, v in per_uf.items()},
        "Potencial previsto por UF (R$)",
        fmt=compacto,
    )


def neighbourhoods_section(neighbourhoods: pd.DataFrame, cities: int = 5, top_n: int = 5) -> str:
    """The best neighbourhoods of the cities that sell most."""
    by_city = neighbourhoods.groupby(["uf", "city"])["sales_value"].sum().nlargest(cities)
    rows = []
    for uf, city in by_city.index:
        best = neighbourhoods[(neighbourhoods["uf"] == uf) & (neighbourhoods["city"] == city)]
        for row in best.nlargest(top_n, "sales_value").itertuples():
            rows.append(
                {
                    "Cidade": f"{city} ({uf})",
                    "Bairro": row.neighbourhood,
                    "Vendas": brl(row.sales_value),
                    "Clientes": inteiro(row.customers),
                }
            )
    return _table(pd.DataFrame(rows, columns=["Cidade", "Bairro", "Vendas", "Clientes"]))


def potential_channel_section(potential: pd.DataFrame, top_n: int = 15) -> str:
    """Predicted potential per region (UF) and channel, largest first."""
    grouped = (
        potential.groupby(["uf", "channel"], as_index=False)
        .agg(
            predicted_value=("predicted_value", "sum"),
            predicted_low=("predicted_low", "sum"),
            predicted_high=("predicted_high", "sum"),
            establishments=("establishments", "sum"),
        )
        .nlargest(top_n, "predicted_value")
    )
    table = pd.DataFrame(
        {
            "UF": grouped["uf"],
            "Canal": [channel_pt(c) for c in grouped["channel"]],
            "Potencial previsto": [brl(v) for v in grouped["predicted_value"]],
            "Faixa provável": [
                f"{brl(low)} a {brl(high)}"
                for low, high in zip(
                    grouped["predicted_low"], grouped["predicted_high"], strict=True
                )
            ],
            "Estabelecimentos": [inteiro(v) for v in grouped["establishments"]],
        }
    )
    chart = bar_chart(
        [
            f"{uf} · {channel_pt(c)}"
            for uf, c in zip(grouped["uf"], grouped["channel"], strict=True)
        ],
        [float(v) for v in grouped["predicted_value"]],
        "Potencial previsto por região e canal (R$)",
        fmt=lambda v: compacto(v, moeda=True),
        color="#27ae60",
    )
    return chart + _table(table)


def prospects_section(prospects: pd.DataFrame, top_n: int = 20) -> str:
    """The best prospects that are not customers yet (no personal data: trade names)."""
    if "scope" in prospects:  # the shortlist: its overall scope
        prospects = prospects[prospects["scope"] == "overall"]
    best = prospects.nsmallest(top_n, "rank")
    table = pd.DataFrame(
        {
            "Posição": [inteiro(v) for v in best["rank"]],
            "Estabelecimento": best["trade_name"].fillna("(sem nome fantasia)"),
            "Canal": [channel_pt(c) for c in best["channel"]],
            "Cidade": [f"{c} ({u})" for c, u in zip(best["city"], best["uf"], strict=True)],
            "Bairro": best["neighbourhood"].fillna("—"),
            "Chance": best["likelihood"],
            "Receita esperada": [brl(v) for v in best["expected_revenue"]],
        }
    )
    return _table(table)


def _date(value: object) -> str:
    """``2025-11-01`` → ``01/11/2025``; anything else as it is."""
    try:
        return pd.Timestamp(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value or "?")


def validation_section(metrics: dict[str, Any]) -> str:
    """The model's honest validation, in words a manager reads."""
    headline = metrics.get("headline", {})
    window = metrics.get("window", {})
    rmse, baseline = (
        numero(headline.get("ensemble_rmse"), 2),
        numero(headline.get("baseline_rmse"), 2),
    )
    gain = percentual(headline.get("improvement_vs_baseline"))
    lines = [
        f"Dados de vendas de {_date(window.get('start'))} a {_date(window.get('end'))}, "
        f"cadastro CNPJ de {metrics.get('release', '?')}.",
        f"Erro médio do modelo (RMSE, validação cruzada): {rmse} contra {baseline} "
        f"de uma previsão ingênua ({gain} melhor).",
        f"R² do modelo: {numero(headline.get('ensemble_r2'), 2)}; "
        f"prospects pontuados: {inteiro(headline.get('prospects_scored'))}.",
    ]
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
