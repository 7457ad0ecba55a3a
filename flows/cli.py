"""The Big D command line: ``python -m flows --help``.

Each command is a thin wrapper: it reads the settings, calls one function of the
package and prints where the results are. A wrong setting stops it with one line.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.config import SettingsError, get_settings

app = typer.Typer(
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


@app.callback()
def _setup(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    """Read the settings once, so a wrong BIGD_* value fails before any work starts."""
    settings = get_settings()
    _configure_logging("DEBUG" if verbose else settings.log_level)


def _configure_logging(level: str) -> None:
    """Our own modules log at ``level``; Prefect keeps its console format for run logs;
    HTTP client request lines (one per partner API call) only at DEBUG."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("flows")
    package.setLevel(level)
    package.addHandler(handler)
    package.propagate = False
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(level if level == "DEBUG" else "WARNING")


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
    from flows.partner_api import serve_forever

    if not key:
        raise typer.BadParameter("give the key clients must send", param_hint="--key")
    serve_forever(data, host=host, port=port, key=key)


@ingest_app.command("cnpj")
def ingest_cnpj_command(
    release: Annotated[str, typer.Option(help="The release month, YYYY-MM.")],
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
        check_release(release)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--release") from None
    summary = ingest_cnpj(release=release, source=source, cnae=cnae or None, uf=uf or None)
    for table, rows in sorted(summary.tables().items()):
        console.print(f"trusted/cnpj/{release}/{table}: {rows:,} rows")
    quarantined = sum(file.rows_quarantined for file in summary.files)
    console.print(f"quarantined rows: {quarantined:,} (quarantine/cnpj/{release}/)")


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
) -> None:
    """Ingest the public datasets of the catalog: raw files, validated typed Parquet."""
    from flows.public_flow import PublicIngestError, ingest_public
    from flows.sources.public import CatalogError, load_catalog, plan

    catalog_path = str(catalog) if catalog else None
    try:  # check the request before starting Prefect, so a typo fails in a second
        plan(load_catalog(catalog_path), dataset, source)
    except CatalogError as error:
        raise typer.BadParameter(str(error), param_hint="--dataset/--catalog/--source") from None
    try:
        summary = ingest_public(dataset=dataset, catalog=catalog_path, source=source)
    except PublicIngestError as error:
        console.print(f"[red]Failed:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    for outcome in summary.outcomes:
        console.print(f"{outcome.trusted_key}: {outcome.rows:,} rows {outcome.message}".rstrip())


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
        typer.Option(formats=["%Y-%m-%d"], help="Last sale day (default: yesterday)."),
    ] = None,
) -> None:
    """Ingest the partner API: categories, establishments, and sales day by day."""
    from flows.partner_flow import ingest_partner
    from flows.sources.partner_api import PartnerApiError

    if get_settings().partner_api_url is None:
        raise SettingsError("BIGD_PARTNER_API_URL: required to ingest the partner API")
    try:
        summary = ingest_partner(
            since=since.date() if since else None, until=until.date() if until else None
        )
    except PartnerApiError as error:
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

    result = purge_flow(dry_run=dry_run)
    for row in result.to_rows():
        console.print(f"{row['key']}  {row['size_bytes']:,} bytes", highlight=False)
    console.print(result.describe(), highlight=False)


@app.command("load")
def load_command(
    release: Annotated[
        str | None, typer.Option(help="CNPJ release YYYY-MM (default: the latest in trusted/).")
    ] = None,
) -> None:
    """Load the trusted zone into the warehouse (BIGD_WAREHOUSE_URL; default DuckDB)."""
    from flows.load_flow import load_warehouse
    from flows.warehouse import ReconciliationError

    try:
        summary = load_warehouse(release=release)
    except (ReconciliationError, FileNotFoundError, ValueError) as error:
        console.print(f"[red]Load failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    backend = get_settings().warehouse.split("://")[0]
    console.print(f"warehouse {backend}: {summary}", highlight=False)


@app.command()
def analyze(
    category: Annotated[
        list[str] | None, typer.Option(help="Only this product category (repeat).")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a timestamped one).")] = None,
    release: Annotated[
        str | None, typer.Option(help="CNPJ release YYYY-MM (default: the latest loaded).")
    ] = None,
) -> None:
    """Run the ensemble demand notebook and load its outputs into the mart."""
    from flows.analysis.runner import NotebookFailed, NotebookParameterError, check_run_id
    from flows.analysis_flow import run_analysis

    if run_id is not None:
        try:  # before starting Prefect, so a bad id fails in a second
            check_run_id(run_id)
        except NotebookParameterError as error:
            raise typer.BadParameter(str(error), param_hint="--run-id") from None
    try:
        summary = run_analysis(run_id=run_id, categories=category or None, release=release)
    except (NotebookFailed, NotebookParameterError) as error:
        console.print(f"[red]Analysis failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"run {summary['run_id']}: ensemble RMSE {summary['ensemble_rmse']:,.0f} vs baseline "
        f"{summary['baseline_rmse']:,.0f} ({summary['improvement_vs_baseline']:.0%} lower); "
        f"notebook {summary['report']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the demo's data, lake and DB.")] = Path(
        "demo"
    ),
    establishments: Annotated[int, typer.Option(min=100, help="Sample size.")] = 5_000,
) -> None:
    """Generate a small release, start the partner API and run every pipeline stage."""
    from flows.demo import run_demo

    run_demo(workdir, establishments=establishments)


def main() -> None:
    """Entry point: a wrong setting is one red line and exit code 2; a failed run ends
    with one red line naming the error and exit code 1 (the traceback is in the run's
    logs above it, and printed again with --verbose)."""
    try:
        app()
    except SettingsError as error:
        console.print(f"[red]Setting error:[/red] {error}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except Exception as error:
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            raise
        message = f"[red]Failed:[/red] {type(error).__name__}: {error}"
        console.print(message, highlight=False, soft_wrap=True, markup=True)
        raise SystemExit(1) from None
