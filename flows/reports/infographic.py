"""The marketing infographic's sales sections (``notebooks/infographic.ipynb``).

What the original dashboard answered, from the warehouse's mart views (the partner's
sales); the analysis sections are in ``flows.reports.marketing``. Each ``*_section``
function takes plain DataFrames and the report's categories and returns an SVG chart or
HTML with Portuguese labels, Brazilian number formats, amounts per month and the exact
period, so the notebook only wires them and tests call them with small frames.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import sqlalchemy as sa

from flows.reports.charts import bar_chart, line_chart, uf_tile_grid
from flows.reports.formatting import brl, compacto, inteiro
from flows.reports.marketing import cell, note, period_text, table
from flows.reports.prospects import channel_pt, place_name

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


def load_warehouse_data(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    """The mart views the infographic reads (any warehouse dialect)."""
    with engine.connect() as connection:
        return {
            name: pd.read_sql_query(sa.text(query), connection) for name, query in QUERIES.items()
        }


def sales_period(sales: pd.DataFrame) -> str:
    """The exact period the partner's sales cover (whole months)."""
    if sales.empty:
        return "sem vendas no período"
    months = pd.to_datetime(sales["sale_month"])
    return period_text(f"{months.min():%Y-%m}", f"{months.max():%Y-%m}")


def months_of(sales: pd.DataFrame) -> int:
    return max(1, pd.to_datetime(sales["sale_month"]).dt.to_period("M").nunique())


def chosen_sales(sales: pd.DataFrame, categories: list[str] | None) -> pd.DataFrame:
    return sales[sales["category"].isin(categories)] if categories else sales


def establishments_section(establishments: pd.DataFrame) -> str:
    data = establishments.sort_values("establishments", ascending=False)
    return bar_chart(
        [channel_pt(c) for c in data["channel"]],
        [int(v) for v in data["establishments"]],
        "Estabelecimentos ativos por canal",
        fmt=inteiro,
    )


def _card(row) -> str:
    return (
        '<div class="bigd-card">'
        f'<div class="bigd-card-title">{escape(str(row.category))}</div>'
        f'<div class="bigd-card-value">{escape(brl(row.per_month))} por mês</div>'
        f"<div>{escape(inteiro(row.quantity / row.months))} unidades por mês</div>"
        f"<div><small>total do período: {escape(brl(row.sales_value))}</small></div></div>"
    )


def others_text(count: int) -> str:
    return "Outra categoria" if count == 1 else f"Outras {inteiro(count)} categorias"


def kpi_section(sales: pd.DataFrame, categories: list[str] | None = None, shown: int = 4) -> str:
    """Value and quantity sold per month as cards: the ``shown`` best-selling chosen
    categories open, every other category folded away (on a phone 30 cards are 3,000 px
    of scrolling)."""
    months = months_of(sales)
    totals = sales.groupby("category", as_index=False)[["quantity", "sales_value"]].sum()
    totals = totals.assign(months=months, per_month=totals["sales_value"] / months)
    totals = totals.sort_values("sales_value", ascending=False)
    chosen = totals[totals["category"].isin(categories)] if categories else totals
    chosen = chosen.head(shown)
    others = totals[~totals["category"].isin(chosen["category"])]
    html = '<div class="bigd-cards-grid">' + "".join(map(_card, chosen.itertuples())) + "</div>"
    if not others.empty:
        html += (
            f'<details class="bigd-more"><summary>{others_text(len(others))}</summary>'
            '<div class="bigd-cards-grid">'
            + "".join(map(_card, others.itertuples()))
            + "</div></details>"
        )
    return html + note(
        f"Média mensal de {sales_period(sales)}. " + "Fonte: vendas do parceiro aos seus clientes."
    )


def monthly_section(sales: pd.DataFrame, categories: list[str] | None, most: int = 5) -> str:
    """Monthly value sold per chosen category (at most ``most`` lines, largest first)."""
    chosen = chosen_sales(sales, categories)
    order = chosen.groupby("category")["sales_value"].sum().sort_values(ascending=False)
    names = list(order.index[:most])
    monthly = chosen.groupby(["sale_month", "category"])["sales_value"].sum().unstack("category")
    monthly = monthly.sort_index()
    months = [pd.Timestamp(m).strftime("%m/%Y") for m in monthly.index]
    series = {
        category: [None if pd.isna(v) else float(v) for v in monthly[category]]
        for category in names
    }
    return line_chart(
        months,
        series,
        "Vendas por mês e categoria (R$ por mês)",
        fmt=lambda v: compacto(v, moeda=True),
    )


def uf_sales_section(sales: pd.DataFrame, categories: list[str] | None = None) -> str:
    chosen = chosen_sales(sales, categories)
    per_uf = chosen.groupby("uf")["sales_value"].sum() / months_of(sales)
    return uf_tile_grid(
        {str(uf): float(v) for uf, v in per_uf.items()},
        "Vendas por UF (R$ por mês, média)",
        fmt=compacto,
    )


def neighbourhoods_section(
    neighbourhoods: pd.DataFrame, period: str, months: int = 1, cities: int = 5, top_n: int = 5
) -> str:
    """The best neighbourhoods of the cities that sell most (all categories: the mart
    view has no category), one folded list per city numbered 1..n by sales per month
    (the first city open)."""
    by_city = neighbourhoods.groupby(["uf", "city"])["sales_value"].sum().nlargest(cities)
    parts = []
    for position, ((uf, city), total) in enumerate(by_city.items()):
        best = neighbourhoods[(neighbourhoods["uf"] == uf) & (neighbourhoods["city"] == city)]
        best = best.nlargest(top_n, "sales_value")
        frame = pd.DataFrame(
            {
                "Nº": [inteiro(n) for n in range(1, len(best) + 1)],
                "Bairro": [place_name(n) for n in best["neighbourhood"]],
                "Vendas (R$/mês)": [brl(v / months) for v in best["sales_value"]],
                "Clientes": [inteiro(v) for v in best["customers"]],
            }
        )
        parts.append(
            f'<details class="bigd-more"{" open" if position == 0 else ""}><summary>'
            f"{escape(str(city))} ({escape(str(uf))}): {cell(brl(total / months))} por mês"
            f"</summary>{table(frame)}</details>"
        )
    return "".join(parts) + note(
        f"Média mensal de {period}, todas as categorias. Fonte: vendas do parceiro."
    )
