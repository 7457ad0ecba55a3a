"""``python -m flows demo``: the whole pipeline on a generated sample, embedded defaults.

Everything lives under one work folder: the sample release, the lake, the DuckDB
warehouse and the generated pseudonym key. The partner API runs on 127.0.0.1 for the
duration of the run with a throw-away key; Prefect uses its temporary local server.
"""

from __future__ import annotations

import datetime as dt
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


def run_demo(workdir: Path, establishments: int = 5_000) -> None:
    """Generate, serve, ingest, scrub and load; then print where the results are."""
    from flows.pipeline import pipeline
    from flows.purge_flow import purge
    from flows.report_flow import render_infographic
    from flows.sample import generate_release
    from flows.sample.partner_api import PartnerApiServer

    started = time.perf_counter()
    workdir = workdir.resolve()
    sample_dir = workdir / "sample"
    console.rule("[bold]Big D demo")
    console.print(f"1/3 Generating a sample release of {establishments:,} establishments")
    summary = generate_release(sample_dir, establishments=establishments, seed=DEMO_SEED)
    console.print(summary.describe())

    key = secrets.token_urlsafe(24)
    with PartnerApiServer(sample_dir, key=key) as partner_api:
        console.print(f"2/3 Partner API serving the sample at {partner_api.url}")
        _use_workdir(workdir, partner_api.url, key)
        console.print("3/3 Running the pipeline on Prefect's temporary local server")
        results = pipeline(
            release=DEMO_RELEASE,
            cnpj_source=str(sample_dir / "cnpj"),
            public_source=str(sample_dir),
            partner_since=dt.date(2025, 11, 1),
            partner_until=dt.date(2026, 10, 31),
        )
        purge(dry_run=True)
    # Delivery. Once run_analysis is in the pipeline, deliver_analysis(its output folder)
    # also publishes its results to the outbox and adds potential and prospects.
    report = render_infographic()

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
    console.rule(f"Done in {time.perf_counter() - started:,.0f} s")
    console.print(
        f"Sample release : {sample_dir}\n"
        f"Lake           : {lake.uri_root}  (raw/, trusted/, quarantine/, state/)\n"
        f"Warehouse      : {settings.warehouse}\n"
        f"Reports        : {report['index']}\n"
        f"Query it       : python -c \"import duckdb; print(duckdb.connect('{workdir}/warehouse"
        f".duckdb', read_only=True).sql('show all tables'))\"",
        highlight=False,
        soft_wrap=True,
    )
