"""``python -m flows demo``: the whole pipeline on a generated sample, embedded defaults.

Everything lives under one work folder: the sample release, the lake, the DuckDB
warehouse and the generated pseudonym key. The partner API runs on 127.0.0.1 for the
duration of the run with a throw-away key; Prefect uses its temporary local server.
"""

from __future__ import annotations

import os
import secrets
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.config import get_settings
from flows.lake import Lake
from flows.resources import get_resources

DEMO_RELEASE = "2026-11"
DEMO_SEED = 7
console = Console(stderr=True)


def _use_workdir(workdir: Path, partner_url: str, partner_key: str) -> None:
    """Point every setting at the work folder (the demo never touches ./data)."""
    for name in [n for n in os.environ if n.startswith("BIGD_")]:
        del os.environ[name]
    os.environ["BIGD_DATA_DIR"] = str(workdir)
    os.environ["BIGD_PARTNER_API_URL"] = partner_url
    os.environ["BIGD_PARTNER_API_KEY"] = partner_key
    get_settings.cache_clear()


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


def warehouse_preview() -> list[Table]:
    """A few answers from the warehouse views, as tables to print."""
    import sqlalchemy as sa

    engine = get_resources().warehouse.engine()
    tables = []
    try:
        with engine.connect() as connection:
            for title, query in PREVIEW_QUERIES.items():
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
    columns = ("rank", "uf", "city", "channel", "trade_name", "p_convert", "expected_revenue")
    for column in columns:
        numeric = column in ("rank", "p_convert", "expected_revenue")
        prospects.add_column(column, justify="right" if numeric else "left")
    engine = get_resources().warehouse.engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT {', '.join(columns)} FROM mart.prospects WHERE run_id = :run "
                    f"ORDER BY rank LIMIT {int(top)}"
                ),
                {"run": summary["run_id"]},
            )
            for row in rows:
                prospects.add_row(*("" if v is None else _cell(v) for v in row))
    finally:
        engine.dispose()
    return [headline, prospects]


def pipeline_on_sample(sample_dir: Path, release: str) -> dict:
    """The whole pipeline on a generated sample: its CNPJ zips, its public files and its
    partner sales window (the partner API serving the sample is already configured)."""
    from flows.pipeline import pipeline
    from flows.sample.world import SALES_END, SALES_START

    return pipeline(
        release=release,
        cnpj_source=str(sample_dir / "cnpj"),
        public_source=str(sample_dir),
        partner_since=SALES_START,
        partner_until=SALES_END,
    )


def run_demo(workdir: Path, establishments: int = 5_000, seed: int = DEMO_SEED) -> dict:
    """Generate, serve, ingest, scrub, load and analyse; then print where the results are.
    Returns ``pipeline``'s result (stage -> its run summary)."""
    from flows.purge_flow import purge
    from flows.sample import generate_release
    from flows.sample.partner_api import PartnerApiServer

    started = time.perf_counter()
    workdir = workdir.resolve()
    sample_dir = workdir / "sample"
    console.rule("[bold]Big D demo")
    console.print(f"1/3 Generating a sample release of {establishments:,} establishments")
    summary = generate_release(sample_dir, establishments=establishments, seed=seed)
    console.print(summary.describe())

    key = secrets.token_urlsafe(24)
    with PartnerApiServer(sample_dir, key=key) as partner_api:
        console.print(f"2/3 Partner API serving the sample at {partner_api.url}")
        _use_workdir(workdir, partner_api.url, key)
        where = os.environ.get("PREFECT_API_URL") or "Prefect's temporary local server"
        console.print(f"3/3 Running the pipeline on {where}")
        results = pipeline_on_sample(sample_dir, DEMO_RELEASE)
        purge(dry_run=True)

    resources = get_resources()
    settings, lake = resources.settings, resources.lake
    console.print(lake_summary(lake))
    stages = Table(title="What each stage did", show_lines=True)
    stages.add_column("stage")
    stages.add_column("result", overflow="fold")
    for stage, result in results.items():
        stages.add_row(stage, str(result))  # every flow's summary reads as one line
    console.print(stages)
    for table in warehouse_preview():
        console.print(table)
    for table in analysis_tables(results["analysis"].totals):
        console.print(table)
    console.rule(f"Done in {time.perf_counter() - started:,.0f} s")
    console.print(
        f"Sample release : {sample_dir}\n"
        f"Lake           : {lake.uri_root}  (raw/, trusted/, quarantine/, state/, reports/)\n"
        f"Analysis       : {results['analysis'].totals['report']}\n"
        f"Warehouse      : {settings.warehouse}\n"
        f"Reports        : {results['delivery']['index']}\n"
        f"Query it       : python -c \"import duckdb; print(duckdb.connect('{workdir}/warehouse"
        f".duckdb', read_only=True).sql('show all tables'))\"",
        highlight=False,
        soft_wrap=True,
    )
    return results
