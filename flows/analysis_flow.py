"""Run the ensemble demand notebook and load its outputs into the mart.

    parameters ─► check against the notebook ─► papermill (python3 kernel of this
    interpreter) ─► executed notebook + output files kept in the lake under
    reports/analysis/<date>/<run-id>/ ─► read the files ─► mart.potential_by_region,
    mart.top_prospects (the run's rows replaced in one transaction)

Every parameter has a default, so a scheduled deployment runs it with none: the latest
CNPJ release and the latest twelve months of partner sales.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows import notebooks as runner
from flows.analysis.mart import load_run
from flows.analysis.outputs import read_outputs
from flows.config import get_settings
from flows.locks import analysis_lock, warehouse_lock
from flows.resources import get_resources
from flows.retry import prefect_retry_condition
from flows.runs import RunSummary, publish_run
from flows.workdirs import work_folder

REPORT_NAME = "analysis"  # reports/analysis/<date>/<run-id>/: the run's record and its HTML


@task
def execute_notebook(
    notebook: Path,
    executed: Path,
    parameters: dict[str, object],
    cell_timeout: float,
    time_limit: float,
) -> Path:
    """Run the notebook (no retry: a failing cell fails the same way again)."""
    return runner.execute(
        notebook,
        executed,
        parameters,
        cell_timeout=cell_timeout,
        time_limit=time_limit,
        log=get_run_logger(),
    )


# Only trouble reaching the warehouse is worth another try (flows.retry's one rule); a
# schema or data problem in the output files would fail the same way again.
@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=prefect_retry_condition)
def load_mart(run_id: str, output_dir: Path) -> dict[str, int]:
    """Replace the run's rows in the mart tables from the output files."""
    outputs = read_outputs(output_dir)
    resources = get_resources()
    with warehouse_lock(resources.lake, get_settings().lock_wait_seconds):
        engine = resources.warehouse.engine()
        try:
            return load_run(engine, run_id, outputs)
        finally:
            engine.dispose()


@flow(name="run_analysis", log_prints=True)
def run_analysis(
    run_id: str | None = None,
    categories: list[str] | None = None,
    release: str | None = None,
    window_start: str | None = None,
    window_end: str | None = None,
    months: int = 12,
    cv_folds: int = 5,
    random_seed: int = 42,
    sample_size: int = 100_000,
    notebook: str | None = None,
    extra_parameters: dict[str, object] | None = None,
    cell_timeout: float = 900,
    time_limit: float = 3_600,
) -> RunSummary:
    """Run the demand notebook, keep it in the lake (with its rendered HTML), load its
    outputs into the mart."""
    logger = get_run_logger()
    run_id = runner.check_run_id(run_id or runner.new_run_id())
    notebook_path = Path(notebook) if notebook else runner.demand_notebook()
    wait = get_settings().lock_wait_seconds
    with analysis_lock(get_resources().lake, release, wait), work_folder("bigd-analysis-") as work:
        return _analyse(work, logger, run_id, notebook_path, **_options(locals()))


def _options(names: dict) -> dict:
    keep = ("categories", "release", "window_start", "window_end", "months", "cv_folds")
    keep += ("random_seed", "sample_size", "extra_parameters", "cell_timeout", "time_limit")
    return {name: names[name] for name in keep}


def _analyse(
    work, logger, run_id, notebook_path, *, categories, release, window_start, window_end,
    months, cv_folds, random_seed, sample_size, extra_parameters, cell_timeout, time_limit,
) -> RunSummary:  # fmt: skip
    """The run, in ``work`` (papermill's local folder: the notebook and its outputs)."""
    record, output_dir = work / "record", work / "record" / "outputs"
    parameters: dict[str, object] = {
        "run_id": run_id,
        "release": release,
        "categories": list(categories) if categories else None,
        "window_start": window_start,
        "window_end": window_end,
        "months": months,
        "cv_folds": cv_folds,
        "random_seed": random_seed,
        "output_dir": str(output_dir),
        "sample_size": sample_size,
        **(extra_parameters or {}),
    }
    runner.check_parameters(notebook_path, parameters)  # before any kernel starts
    lake = get_resources().lake
    prefix = runner.report_prefix(run_id, dt.datetime.now(dt.UTC).date())
    logger.info("run %s: %s with %s", run_id, notebook_path.name, parameters)
    failed = True
    try:
        execute_notebook(
            notebook_path, record / notebook_path.name, parameters, cell_timeout, time_limit
        )
        failed = False
    finally:  # the executed notebook is the run's record, failed or not; so is its HTML
        kept = runner.keep(lake, prefix, record)
        logger.info("kept %d files under %s", len(kept), lake.uri(prefix))
        _render(f"{prefix}/{notebook_path.name}", run_id, f"{prefix}/outputs", failed)
    loaded = load_mart(run_id, output_dir)
    metrics = read_outputs(output_dir)["metrics"]
    head = metrics["headline"]
    totals = {
        "run_id": run_id,
        "report": lake.uri(f"{prefix}/{notebook_path.name}"),
        "outputs": f"{prefix}/outputs",  # lake key of the output files, for delivery
        "release": metrics["release"],
        "window": metrics["window"],
        **head,
        "ensemble_weights": metrics["ensemble_weights"],
        "mart_rows": loaded,
    }
    summary = RunSummary(
        flow="run_analysis",
        line=(
            f"run {run_id}: ensemble RMSE {head['ensemble_rmse']:,.0f} vs baseline "
            f"{head['baseline_rmse']:,.0f} ({head['improvement_vs_baseline']:.0%} lower), "
            f"R² {head['ensemble_r2']:.2f}; {head['prospects_scored']:,} prospects scored"
        ),
        rows=[
            {"model": name, "weight": round(weight, 4)}
            for name, weight in metrics["ensemble_weights"].items()
        ],
        totals=totals,
        description=f"Ensemble demand analysis; notebook {totals['report']}",
    )
    publish_run(summary)
    return summary


def _render(executed: str, run_id: str, outputs: str, failed: bool) -> None:
    """Render the kept notebook (analyst and marketing HTML) into the same run folder and
    the reports index; a failed notebook is rendered too, marked failed."""
    from flows.report_flow import ReportFailed, render_report

    try:
        render_report(executed, notebook=REPORT_NAME, run_id=run_id, analysis_dir=outputs)
    except ReportFailed:
        pass  # archived and marked failed; the notebook's own error is raised by the caller
    except Exception:
        if not failed:
            raise
        get_run_logger().exception("could not render the failed notebook %s", executed)
