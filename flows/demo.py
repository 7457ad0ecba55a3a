"""``bigd demo``: the whole pipeline on a generated sample, embedded defaults.

Everything lives under one work folder: the sample release, the lake, the DuckDB
warehouse and the generated pseudonym key. The partner API runs on 127.0.0.1 for the
duration of the run with a throw-away key; Prefect uses the API the command chose
(``flows/prefect_server.py``), by default its temporary local server.

It reads like a progress report: one line per stage with its duration and its headline
count (a spinner while a stage runs), two small answers from the warehouse, and a closing
summary naming the marketing and analyst pages and the next commands, spelled so that
they work copy-pasted from the folder the demo was started in. Run logs (the notebook's
printed lines included) go to the runs' logs in the Prefect API; the console shows only
warnings and errors unless ``--verbose``. ``bigd demo`` records its folder as this
checkout's default data folder (``flows/data_folder.py``), so later commands find it.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    for name in [n for n in os.environ if n.startswith("BIGD_") and n != "BIGD_HOME"]:
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
    prospects = Table(title=f"Top {top} prospects (predicted monthly potential, R$)")
    columns = ("category", "uf", "city", "channel", "nome_fantasia", "score")
    for column in columns:
        prospects.add_column(column, justify="right" if column == "score" else "left")
    engine = get_resources().warehouse.engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT {', '.join(columns)} FROM mart.top_prospects WHERE run_id = :run "
                    f"ORDER BY score DESC LIMIT {int(top)}"
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


@dataclass
class StageLine:
    name: str
    seconds: float
    detail: str = ""

    def __str__(self) -> str:
        return f"[green]✓[/green] {self.name:<10} {self.seconds:6.1f} s  {self.detail}"


@dataclass
class ProgressReport:
    """One printed line per stage, with a spinner while it runs (on a terminal)."""

    out: Console
    lines: list[StageLine] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, doing: str) -> Iterator[StageLine]:
        line = StageLine(name, 0.0)
        started = time.perf_counter()
        try:
            with self.out.status(f"{name}: {doing}", spinner="dots"):
                yield line
        except BaseException:
            seconds = time.perf_counter() - started
            self.out.print(f"[red]✗[/red] {name:<10} {seconds:6.1f} s  failed", highlight=False)
            raise
        line.seconds = time.perf_counter() - started
        self.lines.append(line)
        self.out.print(str(line), highlight=False, soft_wrap=True)


@contextmanager
def console_shows(level: int) -> Iterator[None]:
    """Console handlers (Prefect's and the ``flows`` logger's) print only ``level`` and
    above meanwhile; the runs' logs in the Prefect API keep everything."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), logging.getLogger("flows")]
    loggers += [item for item in logging.Logger.manager.loggerDict.values()
                if isinstance(item, logging.Logger)]  # fmt: skip
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
        or (logger.name == "flows" and isinstance(handler, logging.StreamHandler))
    }
    saved = {handler: handler.level for handler in handlers}
    for handler in handlers:
        handler.setLevel(max(level, handler.level))
    # nbconvert's advice on the rendered pages (alt text of the charts) is for authors
    authoring, authoring_level = (
        logging.getLogger("traitlets"),
        logging.getLogger("traitlets").level,
    )
    if level > logging.INFO:
        authoring.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for handler, before in saved.items():
            handler.setLevel(before)
        authoring.setLevel(authoring_level)


def _spelled_from(executable: Path, started_in: Path) -> str:
    """A program as a user types it in ``started_in``: relative when it lies below."""
    try:
        relative = executable.relative_to(started_in)
    except ValueError:
        return shlex.quote(str(executable))
    return shlex.quote(str(relative) if relative.parent != Path(".") else f"./{relative}")


def next_commands(workdir: Path, started_in: Path, category: str) -> list[tuple[str, str]]:
    """(command, what it shows): they rely on the recorded default data folder."""
    venv_bin = Path(sys.executable).parent  # not resolved: the venv's own bin/
    bigd_program = venv_bin / "bigd"
    if bigd_program.is_file():
        bigd = _spelled_from(bigd_program, started_in)
    else:  # not installed as a command: the module works the same
        bigd = f"{_spelled_from(Path(sys.executable), started_in)} -m flows"
    python = _spelled_from(Path(sys.executable), started_in)
    topic = get_settings().topic_potential
    query = (
        f"import duckdb; print(duckdb.connect({str(workdir / 'warehouse.duckdb')!r}, "
        "read_only=True).sql('SELECT category, uf, city, channel, round(score) AS score "
        "FROM mart.top_prospects ORDER BY score DESC LIMIT 5'))"
    )
    # "..." reads better than shlex's '"'"' when nothing in it is special to the shell
    quoted = f'"{query}"' if not set(query) & set('"$`\\!') else shlex.quote(query)
    return [
        (
            f"{bigd} results --topic {topic} --limit 3",
            "the potential per region, as systems get it",
        ),
        (f"{bigd} analyze --category {shlex.quote(category)}", "the analysis for one category"),
        (f"{bigd} deliver", "publish the newest analysis and render its pages"),
        (f"{python} -c {quoted}", "query the warehouse"),
    ]


@dataclass
class DemoResult:
    stages: list[StageLine]
    marketing_html: str
    analyst_html: str
    commands: list[tuple[str, str]]
    seconds: float


def run_demo(
    workdir: Path,
    establishments: int = 5_000,
    seed: int = DEMO_SEED,
    *,
    verbose: bool = False,
    record_default: bool = False,
    api: str | None = None,
) -> DemoResult:
    """Generate, serve, ingest, scrub, load, analyse and deliver; print one line per stage,
    then where the results are and what to run next."""
    import logging

    from flows import data_folder
    from flows.sample import generate_release
    from flows.sample.partner_api import PartnerApiServer

    started, started_in = time.perf_counter(), Path.cwd()
    workdir = workdir.resolve()
    sample_dir = workdir / "sample"
    report = ProgressReport(console)
    where = api or _configured_api() or "Prefect's temporary server"
    console.print(f"[bold]Big D demo[/bold] in {workdir} (Prefect API: {where})",
                  highlight=False, soft_wrap=True)  # fmt: skip
    with report.stage("sample", "generating a sample release") as line:
        sample = generate_release(
            sample_dir, establishments=establishments, seed=seed, progress=verbose
        )
        partner = ", ".join(f"{name} {count:,}" for name, count in sample.partner.items())
        line.detail = f"{sample.establishments:,} establishments; partner {partner}"
    key = secrets.token_urlsafe(24)
    with PartnerApiServer(sample_dir, key=key) as partner_api:
        _use_workdir(workdir, partner_api.url, key)
        console.print(f"  partner API serving the sample at {partner_api.url}", highlight=False)
        with console_shows(logging.DEBUG if verbose else logging.WARNING):
            results = _stages(report, sample_dir, where)
    delivery = results["delivery"]
    commands = next_commands(workdir, started_in, _example_category())
    if record_default:
        data_folder.record(workdir)
    tables = warehouse_preview(None if verbose else BRIEF_PREVIEW)
    tables += analysis_tables(results["analysis"].totals, top=10 if verbose else 5)
    if verbose:
        tables.insert(0, lake_summary(get_resources().lake))
    for table in tables:
        console.print(table)
    result = DemoResult(report.lines, delivery["marketing_html"], delivery["analyst_html"],
                        commands, time.perf_counter() - started)  # fmt: skip
    _closing_summary(result, workdir, record_default)
    return result


def _stages(report: ProgressReport, sample_dir: Path, where: str) -> dict:
    """Every pipeline stage as its own flow run (the `pipeline` flow runs the same ones)."""
    from flows.analysis_flow import run_analysis
    from flows.cnpj_flow import ingest_cnpj
    from flows.load_flow import load_warehouse
    from flows.partner_flow import ingest_partner
    from flows.public_flow import ingest_public
    from flows.purge_flow import purge
    from flows.report_flow import publish_results, render_infographic
    from flows.sample.world import SALES_END, SALES_START

    results: dict = {}
    if "temporary" in where:
        with report.stage("prefect", "starting Prefect's temporary server") as line:
            _start_prefect()
            line.detail = "temporary server up (`bigd server start` keeps one for every command)"
    steps: list[tuple[str, str, Callable[[], object]]] = [
        ("cnpj", "ingesting the CNPJ release",
         lambda: ingest_cnpj(release=DEMO_RELEASE, source=str(sample_dir / "cnpj"))),
        ("public", "ingesting the IBGE datasets", lambda: ingest_public(source=str(sample_dir))),
        ("partner", "ingesting the partner API",
         lambda: ingest_partner(since=SALES_START, until=SALES_END)),
        ("warehouse", "loading the warehouse", lambda: load_warehouse(release=DEMO_RELEASE)),
        ("analysis", "running the ensemble notebook",
         lambda: run_analysis(release=DEMO_RELEASE)),
    ]  # fmt: skip
    for name, doing, step in steps:
        with report.stage(name, doing) as line:
            results[name] = step()
            line.detail = str(results[name])
    outputs = results["analysis"].totals["outputs"]
    with report.stage("delivery", "publishing results, rendering the infographic") as line:
        counts = publish_results(outputs)
        page = render_infographic(analysis_dir=outputs)
        target = get_resources().publisher().target
        line.detail = f"{sum(counts.values()):,} messages to {target}; infographic {page['status']}"
        results["delivery"] = page
    with report.stage("purge", "checking partner data retention (dry run)") as line:
        line.detail = purge(dry_run=True).line
    return results


def _configured_api() -> str | None:
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def _start_prefect() -> None:
    """Start Prefect's temporary server now, so its start shows as a stage of its own."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.api_healthcheck()


def _example_category() -> str:
    from flows.preflight import warehouse_categories

    valid = warehouse_categories(get_settings())
    return "Cerveja" if "Cerveja" in valid else valid[0]


def _closing_summary(result: DemoResult, workdir: Path, recorded: bool) -> None:
    console.rule(f"Done in {result.seconds:,.0f} s")
    remembered = (
        "this checkout's default data folder now: later commands use it"
        if recorded
        else "set BIGD_DATA_DIR to it for later commands"
    )
    lines = [
        f"Marketing page (the infographic): {result.marketing_html}",
        f"Analyst page                    : {result.analyst_html}",
        f"Data folder                     : {workdir} ({remembered})",
        "Next, from this folder:",
    ]
    lines += [f"  {command}\n      # {what}" for command, what in result.commands]
    console.print("\n".join(lines), highlight=False, soft_wrap=True, markup=False)
