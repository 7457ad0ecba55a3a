"""The Big D command line: ``bigd --help`` (or ``python -m flows --help``).

Each command is a thin wrapper: it reads the settings, calls one function of the
package and prints where the results are. A wrong setting stops it with one line.
Before a command that runs flows starts, ``main()`` prepares the process once
(``_prepare_flow_command``): the Prefect API to use (``flows/prefect_server.py``), a
console without tracebacks unless ``--verbose``, and signal handling so that a killed
command leaves no process behind (``flows/runtime.py``). Before that, a command that reads
earlier commands' data checks it is there (``flows/preflight.py``: one line naming what to
run first, nothing created), and its first line names the data folder
(``flows/data_folder.py``) and the Prefect API it uses.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from flows.config import SettingsError, get_settings

# `bigd --help` lists the commands in the order a user meets them.
COMMAND_ORDER = ("demo", "sample", "partner-api", "ingest", "load", "analyze", "deliver",
                 "results", "server", "deploy", "purge")  # fmt: skip


class _WorkflowOrder(typer.core.TyperGroup):
    def list_commands(self, ctx) -> list[str]:
        rank = {name: number for number, name in enumerate(COMMAND_ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))


app = typer.Typer(
    cls=_WorkflowOrder,
    help="Big D: go-to-market demand intelligence from CNPJ, IBGE and partner data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
ingest_app = typer.Typer(
    help="Ingest a source into the lake (raw -> scrub -> trusted).", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
server_app = typer.Typer(
    help="The project's Prefect server: start it once, every flow command reuses it.",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")
# Commands that never run a flow: no Prefect import, no server lookup, default signals.
NO_PREFECT_COMMANDS = frozenset({"sample", "partner-api", "server", "results"})
# Commands that read what earlier commands wrote: with no lake they say what to run first.
NEEDS_DATA = frozenset({"load", "analyze", "deliver", "results", "purge"})
_CHOSEN_API: list[str | None] = [None]  # the Prefect API the running command uses


# Commands that touch no lake, warehouse or results target: the profile is not checked.
NO_RESOURCE_COMMANDS = frozenset({"sample", "partner-api", "server"})


@app.callback()
def _setup(
    context: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Log at DEBUG level with tracebacks (no HTTP transport lines)."
        ),
    ] = False,
) -> None:
    """Read the settings once, so a wrong BIGD_* value fails before any work starts; and
    in the aws profile, check it has every resource (one line naming all that miss)."""
    settings = get_settings()
    _configure_logging("DEBUG" if verbose else settings.log_level, tracebacks=verbose)
    if settings.profile == "aws" and context.invoked_subcommand not in NO_RESOURCE_COMMANDS:
        from flows.resources import get_resources

        get_resources()


# HTTP and connection libraries: at DEBUG they log every request, header and socket event
# (each Prefect API call and partner API page), which buried the run logs of `--verbose`.
# They stay at WARNING whatever the level; their errors still show.
TRANSPORT_LOGGERS = ("httpx", "httpcore", "h11", "h2", "hpack", "urllib3", "websockets",
                     "botocore", "s3transfer", "aiosqlite", "asyncio")  # fmt: skip


def _configure_logging(level: str, tracebacks: bool = False) -> None:
    """Our own modules log at ``level``; Prefect keeps its console format for run logs;
    HTTP transport libraries only their warnings, even with ``--verbose`` (a request line
    per Prefect or partner API call is noise, not a run log). Tracebacks of logged errors
    only with ``--verbose``."""
    from flows.runtime import without_traceback

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if not tracebacks:
        without_traceback(handler)
    handler.name = "bigd-console"
    package = logging.getLogger("flows")
    package.setLevel(level)
    # One console handler however often a process configures it (tests run many commands).
    package.handlers[:] = [h for h in package.handlers if h.name != handler.name]
    package.addHandler(handler)
    package.propagate = False
    for transport in TRANSPORT_LOGGERS:
        logging.getLogger(transport).setLevel("WARNING")


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="Folder to write the release into.")],
    establishments: Annotated[int, typer.Option(min=1, help="Number of establishments.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 7,
) -> None:
    """Write a coherent sample release of all three sources in their real formats."""
    from flows.sample import generate_release

    summary = generate_release(out, establishments=establishments, seed=seed)
    console.print(summary.describe())


@app.command("partner-api")
def partner_api(
    data: Annotated[Path, typer.Option(help="A sample release folder (its partner/ data).")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0 = any free port).")] = 8765,
    key: Annotated[str, typer.Option(help="Function key clients must send as ?code=.")] = "",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the partner's sales API (the real contract) from a sample release."""
    from flows.sample.partner_api import serve_forever

    if not key:
        raise typer.BadParameter("give the key clients must send", param_hint="--key")
    serve_forever(data, host=host, port=port, key=key)


@ingest_app.command("cnpj")
def ingest_cnpj_command(
    release: Annotated[
        str | None, typer.Option(help="The release month, YYYY-MM (default: latest published).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Base URL or a local folder of zips (default: Receita).")
    ] = None,
    cnae: Annotated[
        list[str] | None, typer.Option(help="Keep establishments of this main CNAE (repeat).")
    ] = None,
    uf: Annotated[
        list[str] | None, typer.Option(help="Keep establishments of this UF (repeat).")
    ] = None,
) -> None:
    """Ingest a CNPJ release: raw zips, typed scrubbed Parquet, quarantined bad rows."""
    from flows.cnpj_flow import ingest_cnpj
    from flows.sources.cnpj.release import check_release

    try:
        if release is not None:
            check_release(release)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--release") from None
    run = ingest_cnpj(release=release, source=source, cnae=cnae or None, uf=uf or None)
    from flows import layout

    release = run.subject
    assert release is not None  # ingest_cnpj names the release it ingested
    for table, rows in sorted(run.totals["tables"].items()):
        console.print(f"{layout.cnpj_table_prefix(release, table)}: {rows:,} rows")
    quarantined = run.totals["rows_quarantined"]
    where = layout.cnpj_release_prefix("quarantine", release)
    console.print(f"quarantined rows: {quarantined:,} ({where}/)")


@ingest_app.command("public")
def ingest_public_command(
    dataset: Annotated[
        str | None, typer.Option(help="Only this catalog dataset (default: all).")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog file (default: flows/catalog/public.yaml).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Folder or base URL that {source} stands for.")
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(help="Read --dataset from this path or URL (e.g. another year's file)."),
    ] = None,
    production: Annotated[
        bool, typer.Option(help="Read from IBGE's published addresses (catalog 'production').")
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="Replace a dataset even if it came back empty or much smaller than the "
            "trusted one (recorded in the run summary).",
        ),
    ] = False,
) -> None:
    """Ingest the public datasets of the catalog: raw files, validated typed Parquet."""
    from flows.public_flow import PublicIngestError, ingest_public
    from flows.sources.public import CatalogError, load_catalog, plan

    catalog_path = str(catalog) if catalog else None
    try:  # check the request before starting Prefect, so a typo fails in a second
        plan(load_catalog(catalog_path), dataset, source, location=location, production=production)
    except CatalogError as error:
        raise typer.BadParameter(str(error), param_hint="--dataset/--catalog/--source") from None
    try:
        summary = ingest_public(
            dataset=dataset,
            catalog=catalog_path,
            source=source,
            location=location,
            production=production,
            allow_shrink=allow_shrink,
        )
    except PublicIngestError as error:
        console.print(f"[red]Failed:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    for row in summary.rows:
        console.print(f"{row['trusted_key']}: {row['rows']:,} rows {row['message']}".rstrip())


@ingest_app.command("partner")
def ingest_partner_command(
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First sale day (default: the day after the watermark; first run: 365 days).",
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Last sale day (default: yesterday, the last complete day in São Paulo). "
            "Today is a preview: written, but fetched again by the next run.",
        ),
    ] = None,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="Replace a full table even if it came back empty, mostly invalid or much "
            "smaller than the trusted one (recorded in the run summary).",
        ),
    ] = False,
) -> None:
    """Ingest the partner API: categories, establishments, and sales day by day."""
    from flows.partner_flow import ingest_partner
    from flows.sources.partner.client import PartnerApiError
    from flows.sources.partner.ingest import PartnerDateError, check_dates, partner_today

    first, last = (since.date() if since else None), (until.date() if until else None)
    try:  # here, so contradictory dates are refused before Prefect starts
        check_dates(first, last, partner_today())
    except PartnerDateError as error:
        raise typer.BadParameter(str(error), param_hint="--since/--until") from None
    if get_settings().partner_api_url is None:
        raise SettingsError("BIGD_PARTNER_API_URL: required to ingest the partner API")
    from flows.guards import TableGuardError
    from flows.locks import LockHeld

    try:
        summary = ingest_partner(since=first, until=last, allow_shrink=allow_shrink)
    except (PartnerApiError, TableGuardError, LockHeld) as error:
        console.print(f"[red]Failed:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"trusted/partner/: {summary}", highlight=False)


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete raw partner data older than BIGD_PARTNER_RETENTION_DAYS (restricted zone)."""
    from flows.purge_flow import purge as purge_flow

    summary = purge_flow(dry_run=dry_run)
    for row in summary.rows:
        console.print(f"{row['key']}  {row['size_bytes']:,} bytes", highlight=False)
    console.print(summary.line, highlight=False)


@app.command("load")
def load_command(
    release: Annotated[
        str | None, typer.Option(help="CNPJ release YYYY-MM (default: the latest in trusted/).")
    ] = None,
) -> None:
    """Load the trusted zone into the warehouse (BIGD_WAREHOUSE_URL; default DuckDB)."""
    from flows.load_flow import load_warehouse
    from flows.locks import LockHeld
    from flows.warehouse import ReconciliationError

    try:
        summary = load_warehouse(release=release)
    except (ReconciliationError, FileNotFoundError, ValueError, LockHeld) as error:
        console.print(f"[red]Load failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    backend = get_settings().warehouse.split("://")[0]
    console.print(f"warehouse {backend}: {summary}", highlight=False)


@app.command()
def results(
    topic: Annotated[str, typer.Option(help="Topic to read, e.g. bigd.potential.")],
    run_id: Annotated[
        str | None, typer.Option(help="Only this run (default: the newest delivered run).")
    ] = None,
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every run of the topic.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after N messages.")] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Records as stored, re-sent copies included (default: one per id)."
        ),
    ] = False,
) -> None:
    """Print a results topic's messages, one JSON envelope per line (Kafka or outbox).

    One line per message_id: delivery is at-least-once on the wire (a retried publish
    may re-send), exactly-once per message_id for this reader; --raw shows every copy."""
    import json

    from flows.publish.envelope import Topics
    from flows.publish.results import UnknownTopic, check_topic, newest_run, read_results
    from flows.resources import get_resources

    try:
        check_topic(topic, Topics.from_settings(get_settings()))
    except UnknownTopic as error:
        raise typer.BadParameter(str(error), param_hint="--topic") from None
    resources = get_resources()
    if run_id is None and not all_runs:
        run_id = newest_run(resources.lake, topic)
        if run_id is None:
            console.print(f"no run was delivered to {topic} yet", highlight=False)
            return
    publisher = resources.publisher()
    count = 0
    for envelope in read_results(publisher, topic, run_id=run_id, limit=limit, raw=raw):
        print(json.dumps(envelope, ensure_ascii=False))
        count += 1
    which = "every run" if run_id is None else f"run {run_id}"
    copies = "raw records" if raw else "messages (one per message_id)"
    console.print(f"{count:,} {copies} from {topic}, {which} ({publisher.target})", highlight=False)


@app.command()
def analyze(
    category: Annotated[
        list[str] | None, typer.Option(help="Only this product category (repeat).")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a timestamped one).")] = None,
    release: Annotated[
        str | None, typer.Option(help="CNPJ release YYYY-MM (default: the latest loaded).")
    ] = None,
    deliver: Annotated[
        bool,
        typer.Option(
            help="Then publish the results and render the infographic for these categories, "
            "as the schedule does (--no-deliver: the analysis only)."
        ),
    ] = True,
) -> None:
    """Run the ensemble demand notebook, load its outputs into the mart, then deliver them:
    publish the results and render the marketing infographic of the same categories."""
    from flows.analysis_flow import run_analysis
    from flows.locks import LockHeld
    from flows.notebooks import NotebookFailed, NotebookParameterError, check_run_id

    if run_id is not None:
        try:  # before starting Prefect, so a bad id fails in a second
            check_run_id(run_id)
        except NotebookParameterError as error:
            raise typer.BadParameter(str(error), param_hint="--run-id") from None
    try:
        run = run_analysis(run_id=run_id, categories=category or None, release=release)
    except (NotebookFailed, NotebookParameterError, LockHeld) as error:
        console.print(f"[red]Analysis failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"{run.line}; notebook {run.totals['report']}",
        highlight=False,
        soft_wrap=True,
    )
    if deliver:
        _deliver(run.totals["outputs"], category or None)


def _deliver(analysis_dir: str, categories: list[str] | None) -> None:
    """Publish an analysis run's results and render its infographic (deliver_analysis)."""
    from flows.report_flow import ReportFailed, deliver_analysis

    try:
        delivered = deliver_analysis(analysis_dir=analysis_dir, categories=categories)
    except ReportFailed as error:
        console.print(f"[red]Infographic failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    published = ", ".join(f"{t} {n:,}" for t, n in sorted(delivered["published"].items()))
    console.print(
        f"published {published}; infographic {delivered['report']}; index {delivered['index']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def deliver(
    run_id: Annotated[
        str | None, typer.Option(help="The analysis run to deliver (default: the newest).")
    ] = None,
) -> None:
    """Publish an analysis run's results and render its reports, as the schedule does.

    The deliver_analysis flow: messages to Kafka (or the lake's outbox), then the
    infographic (marketing and analyst pages) archived under reports/ in the lake."""
    from flows.preflight import analysis_outputs
    from flows.report_flow import deliver_analysis
    from flows.resources import get_resources

    delivered = deliver_analysis(analysis_dir=analysis_outputs(get_resources().lake, run_id))
    published = ", ".join(f"{topic} {count:,}" for topic, count in delivered["published"].items())
    console.print(
        f"published: {published}\nmarketing page: {delivered['report']}\n"
        f"reports index: {delivered['index']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the demo's data, lake and DB.")] = Path(
        "demo"
    ),
    establishments: Annotated[int, typer.Option(min=100, help="Sample size.")] = 5_000,
    keep_server: Annotated[
        bool,
        typer.Option(
            "--keep-server/--temporary-server",
            help="Without a Prefect API: start the project's Prefect server for the demo's "
            "folder and leave it running, so later commands and the next demo skip Prefect's "
            "start-up (`bigd server stop` stops it); or use a temporary server.",
        ),
    ] = True,
) -> None:
    """Generate a small release, start the partner API and run every pipeline stage.

    Records its folder as this checkout's default data folder, so the commands it
    prints at the end (and a notebook opened in Jupyter) find its data."""
    from flows.demo import run_demo

    run_demo(workdir, establishments=establishments, verbose=_verbose(), record_default=True,
             api=_CHOSEN_API[0], keep_server=keep_server)  # fmt: skip


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="Work pool the deployments run on.")] = "bigd-process",
    pool_type: Annotated[
        str, typer.Option(help="process, or a container pool: docker, kubernetes, ecs.")
    ] = "process",
    image: Annotated[
        str | None, typer.Option(help="Image built from the Dockerfile (container pools).")
    ] = None,
) -> None:
    """Create the work pool and the blocks (from env variables), then deploy every flow."""
    from flows.deploy import deploy_all

    try:
        report = deploy_all(pool=pool, pool_type=pool_type, image=image)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--pool-type/--image") from None
    console.print(report.describe(), highlight=False)


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0 = any free port).")] = 0,
) -> None:
    """Start a Prefect server in the background for this data folder (PREFECT_HOME =
    <data_dir>/prefect); flow commands use it instead of a temporary server each."""
    from flows import prefect_server

    data_dir = get_settings().data_dir
    state = prefect_server.running_server(data_dir)
    if state is None:
        console.print("Starting the project's Prefect server (about 15 s)...")
        state = prefect_server.start(data_dir, port=port)
    console.print(
        f"Prefect server running at {state.url} (pid {state.pid}; UI {state.url[:-4]}; "
        f"log {state.log}). Flow commands with this data folder use it; "
        "`bigd server stop` stops it.",
        highlight=False,
        soft_wrap=True,
    )
    if os.environ.get("PREFECT_API_URL"):
        console.print(
            f"[yellow]Note:[/yellow] PREFECT_API_URL={escape(os.environ['PREFECT_API_URL'])} "
            "is set in this shell, and a configured PREFECT_API_URL wins: unset it to use "
            "this server.",
            highlight=False,
            soft_wrap=True,
        )


@server_app.command("stop")
def server_stop() -> None:
    """Stop the project's Prefect server started by `server start`."""
    from flows import prefect_server

    state = prefect_server.stop(get_settings().data_dir)
    if state is None:
        console.print("No project Prefect server was running.")
    else:
        console.print(f"Stopped the Prefect server at {state.url} (pid {state.pid}).")


@server_app.command("status")
def server_status() -> None:
    """Say which Prefect API flow commands use; exit 1 when no project server runs."""
    from flows import prefect_server

    state = prefect_server.running_server(get_settings().data_dir)
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        console.print(f"Flow commands use PREFECT_API_URL={configured} (configured; it wins).")
    if state is None:
        console.print("No project Prefect server is running (`bigd server start` starts one).")
        raise typer.Exit(1)
    console.print(f"Project Prefect server running at {state.url} (pid {state.pid}).")


def _prepare_flow_command() -> str:
    """Run once before a command that runs flows (after its arguments parsed): choose the
    Prefect API, keep tracebacks off the console unless --verbose, handle SIGTERM/SIGINT.
    Says which Prefect API it chose."""
    from flows import prefect_server, runtime

    runtime.install_signal_handlers()
    verbose = _verbose()
    api = prefect_server.connect(get_settings().data_dir)
    if not verbose:
        runtime.quiet_prefect_console()
    return api


def _verbose() -> bool:
    return bool({"-v", "--verbose"} & set(sys.argv[1:]))


def _wrap_commands(group, top_level: bool = True, flows: bool = True, api: bool = True) -> None:
    """Make every command say first which data folder (and Prefect API) it uses, check
    that the data it reads is there, and prepare Prefect when it may run a flow (typer
    builds click commands: groups have ``commands``, commands a ``callback``)."""
    for name, command in group.commands.items():
        if top_level and name in {"sample", "partner-api"}:
            continue  # they use no data folder
        flow = flows and not (top_level and name in NO_PREFECT_COMMANDS)
        if hasattr(command, "commands"):  # server commands say which server themselves
            _wrap_commands(command, top_level=False, flows=flow, api=name != "server")
        elif command.callback is not None:
            command.callback = _prepared(command.callback, name if top_level else "", flow, api)


def _prepared(callback, name: str, flow: bool, says_api: bool = True):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        from flows.data_folder import describe

        settings = get_settings()
        if name in NEEDS_DATA:
            _refuse_without_data(settings)
        if name in BEFORE_PREFECT:
            BEFORE_PREFECT[name](settings, kwargs)
        api = _prepare_flow_command() if flow else "not used by this command"
        if name == "demo":  # its data folder is its --workdir: it says so itself
            _CHOSEN_API[0] = api
            return callback(*args, **kwargs)
        line = f"Data folder {describe(settings.data_dir)}"
        console.print(f"{line}; Prefect API: {api}" if says_api else line, highlight=False,
                      soft_wrap=True)  # fmt: skip
        return callback(*args, **kwargs)

    return run


def _check_analyze(settings, options: dict) -> None:
    """The warehouse is loaded and every --category is a partner category: checked in
    about a second, before Prefect or a kernel starts; a missing DuckDB file stays missing."""
    from flows.preflight import NothingToUse, check_categories, warehouse_categories

    try:
        valid = warehouse_categories(settings)
    except NothingToUse as error:
        _say_no(error)
    try:
        check_categories(options.get("category") or [], valid)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--category") from None


def _check_deliver(settings, options: dict) -> None:
    from flows.preflight import NothingToUse, analysis_outputs
    from flows.resources import get_resources

    try:
        analysis_outputs(get_resources().lake, options.get("run_id"))
    except NothingToUse as error:
        _say_no(error)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--run-id") from None


BEFORE_PREFECT = {"analyze": _check_analyze, "deliver": _check_deliver}


def _refuse_without_data(settings) -> None:
    from flows.preflight import NothingToUse, require_lake

    try:
        require_lake(settings)
    except NothingToUse as error:
        _say_no(error)


def _say_no(error: Exception) -> None:
    console.print(f"[red]Nothing to use:[/red] {escape(str(error))}", highlight=False,
                  soft_wrap=True)  # fmt: skip
    raise typer.Exit(1)


def _one_line(error: Exception) -> str:
    """The error as one plain line: a database error as the driver's own message, without
    SQLAlchemy's wrapping and its link (e.g. DuckDB's file lock held by another process)."""
    from sqlalchemy.exc import DBAPIError

    shown: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        shown = error.orig
    text = " ".join(f"{type(shown).__name__}: {shown}".split())
    return text.split(" (Background on this error at:", 1)[0]


def main() -> None:
    """Entry point: a wrong setting is one red line and exit code 2; a failed run ends
    with one red line naming the error and exit code 1 (the run logs above it carry no
    traceback; --verbose prints them); SIGTERM/SIGINT stop the command and every process
    it started, with one red line and exit code 128 + the signal number."""
    from flows import runtime

    command = typer.main.get_command(app)
    _wrap_commands(command)
    try:
        command()
    except runtime.Terminated as stop:
        runtime.terminate_children()
        console.print(f"[red]Stopped:[/red] {stop} received", highlight=False)
        runtime.exit_now(stop.exit_code)
    except SettingsError as error:
        console.print(f"[red]Setting error:[/red] {escape(str(error))}", highlight=False,
                      soft_wrap=True)  # fmt: skip
        raise SystemExit(2) from None
    except Exception as error:
        if _verbose():
            raise
        message = f"[red]Failed:[/red] {escape(_one_line(error))}"
        console.print(message, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    finally:
        runtime.mute_prefect_console()  # the command's own line stays the last one
