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
from pathlib import Path

from rich.console import Console

from flows.config import get_settings
from flows.demo_tables import (  # noqa: F401  (PREVIEW_QUERIES, _cell: what tests compare)
    BRIEF_PREVIEW,
    PREVIEW_QUERIES,
    _cell,
    analysis_tables,
    lake_summary,
    warehouse_preview,
)
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


# The best prospects of the newest analysis run only: mart.prospects keeps every run's rows
# (each later `bigd analyze` adds one), and ranks restart at 1 in each. Who has no trade
# name shows their registered name; person-owned businesses show neither (docs/analysis.md).
NEWEST_PROSPECTS_SQL = (
    "SELECT rank, uf, city, channel, coalesce(trade_name, legal_name) AS name, "
    "round(expected_revenue) AS expected_revenue FROM mart.prospects WHERE run_id = "
    "(SELECT run_id FROM mart.prospects ORDER BY scored_at DESC, run_id LIMIT 1) "
    "ORDER BY rank LIMIT 5"
)


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
        f"read_only=True).sql('{NEWEST_PROSPECTS_SQL}'))"
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
        (f"{python} -c {quoted}", "query the warehouse: the newest run's best prospects"),
    ]


@dataclass
class DemoResult:
    stages: list[StageLine]
    marketing_html: str
    analyst_html: str
    commands: list[tuple[str, str]]
    seconds: float
    reports_index: str = ""
    results: dict = field(default_factory=dict)  # stage -> its run summary, as ``pipeline``'s


def run_demo(
    workdir: Path,
    establishments: int = 5_000,
    seed: int = DEMO_SEED,
    *,
    verbose: bool = False,
    record_default: bool = False,
    api: str | None = None,
    keep_server: bool = False,
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
    shown = "the project server of this folder, started now" if (
        keep_server and "temporary" in where) else where  # fmt: skip
    console.print(f"[bold]Big D demo[/bold] in {workdir} (Prefect API: {shown})",
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
            results = _stages(report, sample_dir, where, workdir if keep_server else None)
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
                        commands, time.perf_counter() - started,
                        delivery.get("index", ""), results)  # fmt: skip
    _closing_summary(result, workdir, record_default)
    return result


def _stages(report: ProgressReport, sample_dir: Path, where: str, server_for: Path | None) -> dict:
    """Every pipeline stage as its own flow run (the `pipeline` flow runs the same ones).
    Without a Prefect API, ``server_for`` (a data folder) asks for the project server of
    that folder, started here and left running; else Prefect's temporary server."""
    from flows.analysis_flow import run_analysis
    from flows.cnpj_flow import ingest_cnpj
    from flows.load_flow import load_warehouse
    from flows.partner_flow import ingest_partner
    from flows.public_flow import ingest_public
    from flows.purge_flow import purge
    from flows.report_flow import publish_results, render_infographic
    from flows.sample.world import SALES_END, SALES_START

    results: dict = {}
    if "temporary" in where and server_for is not None:
        with report.stage("prefect", "starting the project's Prefect server") as line:
            url = _start_project_server(server_for)
            line.detail = (f"project server at {url} (UI {url.removesuffix('/api')}), kept "
                           "running for later commands; `bigd server stop` stops it")  # fmt: skip
    elif "temporary" in where:
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


def _start_project_server(data_dir: Path) -> str:
    """``bigd server start`` for the demo's folder, then point this process at it."""
    from prefect.context import refresh_global_settings_context

    from flows import prefect_server

    state = prefect_server.start(data_dir)
    os.environ["PREFECT_API_URL"] = state.url
    refresh_global_settings_context()
    return state.url


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
        f"Reports index                   : {result.reports_index}",
        f"Data folder                     : {workdir} ({remembered})",
        "Next, from this folder:",
    ]
    lines += [f"  {command}\n      # {what}" for command, what in result.commands]
    console.print("\n".join(lines), highlight=False, soft_wrap=True, markup=False)
