"""The tables the demo prints: what the lake holds, a few answers from the warehouse's
mart views (any warehouse dialect), the model's headline metrics and best prospects."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table

from flows.lake import Lake
from flows.resources import get_resources


def lake_summary(lake: Lake) -> Table:
    """Objects and bytes per zone and source: what the run left in the lake."""
    table = Table(title=f"Lake {lake.uri_root}")
    for column in ("zone/source", "objects", "MB"):
        table.add_column(column, justify="right" if column != "zone/source" else "left")
    totals: dict[str, list[int]] = {}
    for obj in lake.list():
        group = "/".join(obj.key.split("/")[:2])
        count_size = totals.setdefault(group, [0, 0])
        count_size[0] += 1
        count_size[1] += obj.size
    for group, (count, size) in sorted(totals.items()):
        table.add_row(group, f"{count:,}", f"{size / 1e6:,.2f}")
    return table


# What the reports must answer, straight from the mart views (any warehouse dialect).
PREVIEW_QUERIES = {
    "Active establishments per channel": (
        "SELECT channel, SUM(establishments) AS establishments "
        "FROM mart.establishments_by_channel GROUP BY channel ORDER BY 2 DESC"
    ),
    "Customers vs prospects per channel": (
        "SELECT channel, SUM(customers) AS customers, SUM(prospects) AS prospects "
        "FROM mart.customers_vs_prospects GROUP BY channel ORDER BY 3 DESC"
    ),
    "Top categories by value sold": (
        "SELECT category, SUM(quantity) AS quantity, ROUND(SUM(sales_value), 2) AS value "
        "FROM mart.sales_by_category_month_uf GROUP BY category ORDER BY 3 DESC LIMIT 5"
    ),
}


# The one printed at default verbosity (--verbose prints them all).
BRIEF_PREVIEW = ("Top categories by value sold",)


def warehouse_preview(titles: tuple[str, ...] | None = None) -> list[Table]:
    """A few answers from the warehouse views, as tables to print (default: all)."""
    import sqlalchemy as sa

    engine = get_resources().warehouse.engine()
    tables = []
    try:
        with engine.connect() as connection:
            for title, query in PREVIEW_QUERIES.items():
                if titles is not None and title not in titles:
                    continue
                result = connection.execute(sa.text(query))
                table = Table(title=title)
                for column in list(result.keys()):
                    table.add_column(column)
                for row in result:
                    table.add_row(*(_cell(value) for value in row))
                tables.append(table)
    finally:
        engine.dispose()
    return tables


def _cell(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}"
    return str(value)


# The best prospects' columns (name: SQL on mart.prospects). The name is the trade name,
# else the registered name; person-owned businesses have neither (docs/analysis.md).
PROSPECT_COLUMNS = {
    "rank": "rank",
    "uf": "uf",
    "city": "city",
    "channel": "channel",
    "name": "COALESCE(trade_name, legal_name)",
    "p_convert": "p_convert",
    "expected_revenue": "expected_revenue",
}


def analysis_tables(summary: dict, top: int = 10) -> list[Table]:
    """The analysis's headline metrics and its best prospects (from the mart)."""
    import sqlalchemy as sa

    headline = Table(title=f"Ensemble demand model (run {summary['run_id']})")
    headline.add_column("metric")
    headline.add_column("value", justify="right")
    headline.add_row("ensemble RMSE (grouped CV, R$)", f"{summary['ensemble_rmse']:,.0f}")
    headline.add_row(
        "baseline RMSE (median per channel x UF x category)", f"{summary['baseline_rmse']:,.0f}"
    )
    headline.add_row("improvement vs baseline", f"{summary['improvement_vs_baseline']:.0%}")
    headline.add_row("ensemble R²", f"{summary['ensemble_r2']:.2f}")
    headline.add_row("prospects scored", f"{summary['prospects_scored']:,}")
    weights = ", ".join(f"{k} {v:.2f}" for k, v in summary["ensemble_weights"].items())
    headline.add_row("stacking weights", weights)
    prospects = Table(title=f"Top {top} prospects (expected revenue, R$ per month)")
    for column in PROSPECT_COLUMNS:
        numeric = column in ("rank", "p_convert", "expected_revenue")
        prospects.add_column(column, justify="right" if numeric else "left")
    engine = get_resources().warehouse.engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT {', '.join(PROSPECT_COLUMNS.values())} FROM mart.prospects "
                    f"WHERE run_id = :run ORDER BY rank LIMIT {int(top)}"
                ),
                {"run": summary["run_id"]},
            )
            for row in rows:
                prospects.add_row(*("" if v is None else _cell(v) for v in row))
    finally:
        engine.dispose()
    return [headline, prospects]
