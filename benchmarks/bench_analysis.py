"""Benchmark the ensemble demand notebook end to end on a large release.

    python -m benchmarks.bench_analysis [--establishments 200000] [--sales 1000000]

Generates a release of ``--establishments`` whose partner has enough customers and sale
rows for about ``--sales`` sales (the generator's customer share and rows per
establishment are scaled for the run; the planted formula is unchanged), ingests and
loads it with the real flows into a DuckDB warehouse (not timed: setup), then times the
notebook exactly as ``run_analysis`` runs it (papermill, the ``python3`` kernel, the
schedule's default parameters). Prints the setup, the notebook's time per section and
in total, the kernel's CPU time (on a shared machine the wall time is inflated, the CPU
time is not), and the headline metrics. Target: the notebook in at most 180 s on 2 cores.

    python -m benchmarks.bench_analysis --synthetic-prospects 1000000,2000000,3000000
        [--base-establishments 20000] [--input streamed,memory] [--scoring-cluster local]

measures the scoring and output stage at national sizes instead: a small release is
generated, loaded and fitted (setup), its prospects are replicated with new ids to N, and
each N is scored, ranked and written in a fresh process whose peak RSS (with its
children) is sampled from outside (``benchmarks/analysis_scale.py``). Target: at most
2 GB at 3,000,000 prospects, and flat (at most linear) in prospects.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

RELEASE = "2026-11"
TARGET_SECONDS = 180
console = Console(stderr=True)


@contextmanager
def scaled_partner(establishments: int, sales: int):
    """More customers and orders than a default release, so it has about ``sales`` rows:
    half the active channel establishments are customers, buying up to 6 times a month."""
    from flows.sample import partner

    saved = (partner.CUSTOMER_SHARE, partner.ROWS_PER_ESTABLISHMENT, partner.MAX_ORDERS_PER_MONTH)
    partner.CUSTOMER_SHARE = 0.5
    partner.ROWS_PER_ESTABLISHMENT = sales / establishments
    partner.MAX_ORDERS_PER_MONTH = 6.0
    try:
        yield
    finally:
        partner.CUSTOMER_SHARE, partner.ROWS_PER_ESTABLISHMENT, partner.MAX_ORDERS_PER_MONTH = saved


def set_up(workdir: Path, establishments: int, sales: int, seed: int) -> dict[str, float]:
    """Generate, serve, ingest and load (the pipeline's stages before the analysis)."""
    from flows.cnpj_flow import ingest_cnpj
    from flows.config import get_settings
    from flows.load_flow import load_warehouse

    try:  # the restructure (issue 10) moved the partner API test server
        from flows.sample.partner_api import PartnerApiServer
    except ImportError:
        from flows.partner_api import PartnerApiServer
    from flows.partner_flow import ingest_partner
    from flows.public_flow import ingest_public
    from flows.sample import generate_release

    sample = workdir / "sample"
    started = time.perf_counter()
    with scaled_partner(establishments, sales):
        summary = generate_release(sample, establishments=establishments, seed=seed)
    generated = time.perf_counter() - started
    key = secrets.token_urlsafe(16)
    with PartnerApiServer(sample, key=key) as api:
        os.environ.update(
            BIGD_DATA_DIR=str(workdir), BIGD_PARTNER_API_URL=api.url, BIGD_PARTNER_API_KEY=key
        )
        get_settings.cache_clear()
        started = time.perf_counter()
        ingest_cnpj(release=RELEASE, source=str(sample / "cnpj"))
        ingest_public(source=str(sample))
        ingest_partner(since=dt.date(2025, 11, 1), until=dt.date(2026, 10, 31))
        load_warehouse(release=RELEASE)
    return {
        "generate_s": generated,
        "ingest_load_s": time.perf_counter() - started,
        "sales": summary.partner["sales"],
        "customers": summary.partner["establishments"],
    }


SECTIONS = {  # section of the notebook -> text of the code cell that starts it
    "imports and settings": "import pandas",
    "read the warehouse, features": "read_warehouse(engine",
    "cross-validation + holdout": "study.validate(",
    "diagnostics and importance": "charts.residual_chart(",
    "conversion, scoring and outputs": "study.convert(",
}


def time_notebook(workdir: Path, with_spans: bool = False):
    """Run the notebook as the flow does; wall time, the kernel's CPU time (what a busy
    machine cannot inflate), seconds per section, metrics (and with ``with_spans`` each
    section's first start and last end, epoch seconds, as papermill recorded them)."""
    import nbformat

    from flows import notebooks as runner
    from flows.analysis.outputs import read_outputs

    output_dir = workdir / "outputs"
    parameters = {
        "run_id": "bench",
        "release": None,
        "categories": None,
        "window_start": None,
        "window_end": None,
        "months": 12,
        "cv_folds": 5,
        "random_seed": 42,
        "output_dir": str(output_dir),
        "sample_size": 100_000,
        "hidden_share": 0.2,
        "top_n": 20,
        "scoring_chunk": 5_000,
        "scoring_cluster": None,
        "lightgbm_trees": 150,
        "forest_trees": 40,
        "forest_depth": 14,
        "conversion_trees": 200,
    }
    runner.check_parameters(runner.demand_notebook(), parameters)
    executed = workdir / "demand_ensemble.ipynb"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    runner.execute(
        runner.demand_notebook(), executed, parameters, cell_timeout=7_200, time_limit=14_400
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, once it has exited
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cells = nbformat.read(executed, as_version=4).cells
    durations = [cell.metadata.get("papermill", {}).get("duration") or 0.0 for cell in cells]
    starts = [
        next(i for i, c in enumerate(cells) if text in c.source) for text in SECTIONS.values()
    ]
    bounds = [*starts, len(cells)]
    per_section = {
        name: sum(durations[start:end])
        for name, start, end in zip(SECTIONS, bounds[:-1], bounds[1:], strict=True)
    }
    metrics = json.loads((output_dir / "metrics.json").read_text())
    if not with_spans:
        read_outputs(output_dir, tables=())  # every file checked against its schema
        return wall, cpu, per_section, metrics

    def stamp(cell, key: str) -> float:
        value = cell.metadata.get("papermill", {}).get(key)
        return dt.datetime.fromisoformat(value).timestamp() if value else float("nan")

    spans = {
        name: (stamp(cells[start], "start_time"), stamp(cells[end - 1], "end_time"))
        for name, start, end in zip(SECTIONS, bounds[:-1], bounds[1:], strict=True)
    }
    return wall, cpu, per_section, metrics, spans


def synthetic(args: argparse.Namespace) -> None:
    """``--synthetic-prospects``: set up (or reuse) the base release, then measure."""
    from benchmarks import analysis_scale

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    sizes = [int(value) for value in args.synthetic_prospects.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-analysis-scale-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if args.reuse and (workdir / "warehouse.duckdb").is_file():
            os.environ["BIGD_DATA_DIR"] = str(workdir)
        else:
            (workdir / "fitted.pkl").unlink(missing_ok=True)
            base = args.base_establishments
            set_up(workdir, base, base * 5, args.seed)
        analysis_scale.run(workdir, sizes, args.chunk, args.input.split(","),
                           args.scoring_cluster, args.category)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=200_000)
    parser.add_argument("--sales", type=int, default=1_000_000, help="approximate sale rows")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: temporary)")
    parser.add_argument(
        "--reuse", action="store_true", help="time the notebook on the --workdir loaded before"
    )
    parser.add_argument(
        "--synthetic-prospects",
        help="comma-separated prospect counts: measure scoring + outputs on synthetic prospects",
    )
    parser.add_argument(
        "--base-establishments",
        type=int,
        default=20_000,
        help="the release fitted and replicated by --synthetic-prospects",
    )
    parser.add_argument("--input", default="streamed", help="streamed, memory or both (a,b)")
    parser.add_argument("--chunk", type=int, default=5_000, help="scoring_chunk")
    parser.add_argument("--scoring-cluster", help="scoring_cluster: local, dask or an address")
    parser.add_argument("--category", action="append", help="score only these categories")
    parser.add_argument(
        "--national-prospects",
        type=int,
        help="inflate the --base-establishments release to this many prospects in the "
        "warehouse and run the whole notebook on it, its memory sampled per section",
    )
    args = parser.parse_args()
    if args.national_prospects:
        from benchmarks import national_analysis

        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        with tempfile.TemporaryDirectory(prefix="bench-analysis-national-") as scratch:
            args.workdir = args.workdir or Path(scratch)
            national_analysis.run(args)
        return
    if args.synthetic_prospects:
        synthetic(args)
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if args.reuse and (workdir / "warehouse.duckdb").is_file():
            os.environ["BIGD_DATA_DIR"] = str(workdir)
            manifest = json.loads((workdir / "sample" / "MANIFEST.json").read_text())["partner"]
            setup = {"generate_s": 0.0, "ingest_load_s": 0.0, "sales": manifest["sales"],
                     "customers": manifest["establishments"]}  # fmt: skip
        else:
            setup = set_up(workdir, args.establishments, args.sales, args.seed)
        wall, cpu, sections, metrics = time_notebook(workdir)
    table = Table(title=f"Ensemble notebook on {args.establishments:,} establishments")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("sale rows (customers)", f"{setup['sales']:,} ({setup['customers']:,})")
    table.add_row("setup: generate", f"{setup['generate_s']:.1f} s")
    table.add_row(
        "setup: ingest + load (not timed against the target)", f"{setup['ingest_load_s']:.1f} s"
    )
    rows = metrics["rows"]
    table.add_row(
        "training rows used (of)",
        f"{rows['training_rows']:,} ({rows['training_rows_before_sampling']:,})",
    )
    table.add_row("prospect x category rows scored", f"{rows['prospect_category_rows']:,}")
    for name, seconds in sections.items():
        table.add_row(f"notebook: {name}", f"{seconds:.1f} s")
    verdict = "ok" if wall <= TARGET_SECONDS else "OVER"
    table.add_row(
        "notebook total (wall, incl. kernel start)",
        f"{wall:.1f} s ({verdict}, target {TARGET_SECONDS} s)",
    )
    table.add_row("notebook CPU time (kernel, user + sys)", f"{cpu:.1f} s")
    head = metrics["headline"]
    table.add_row(
        "ensemble / baseline RMSE", f"{head['ensemble_rmse']:,.0f} / {head['baseline_rmse']:,.0f}"
    )
    table.add_row("improvement vs baseline", f"{head['improvement_vs_baseline']:.0%}")
    table.add_row(
        "ensemble weights",
        json.dumps({k: round(v, 2) for k, v in metrics["ensemble_weights"].items()}),
    )
    Console().print(table)


if __name__ == "__main__":
    main()
