"""The Big D command line: ``python -m flows --help``.

Each command is a thin wrapper: it reads the settings, calls one function of the
package and prints where the results are. A wrong setting stops it with one line.
"""

from __future__ import annotations

import logging
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
    logging.basicConfig(
        level="DEBUG" if verbose else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


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
    """Entry point: turn a SettingsError into one red line and exit code 2."""
    try:
        app()
    except SettingsError as error:
        console.print(f"[red]Setting error:[/red] {error}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
