"""Run the ensemble demand notebook and load its outputs into the mart.

    parameters ─► check against the notebook ─► papermill (python3 kernel of this
    interpreter) ─► executed notebook + output files kept in the lake under
    reports/analysis/<date>/<run-id>/ ─► read the files ─► mart.potential_by_region,
    mart.prospects, mart.top_prospects (the run's rows replaced in one transaction)
    ─► rendered HTML
    ─► manifest.json LAST: the run's commit point (status, stages completed)

A run killed before its manifest is invisible downstream (delivery, latest/, the index);
a run whose notebook or mart failed gets a manifest saying failed and how far it got.

Every parameter has a default, so a scheduled deployment runs it with none: the latest
CNPJ release and the latest twelve months of partner sales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from flows import layout
from flows import notebooks as runner
from flows.analysis.mart import MART_TABLES, load_run
from flows.analysis.outputs import read_outputs
from flows.config import get_settings
from flows.contracts import AnalysisTotals, ReportManifest, Stage
from flows.locks import analysis_lock, warehouse_lock
from flows.resources import get_resources
from flows.retry import prefect_retry_condition
from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.workdirs import work_folder

REPORT_NAME = layout.ANALYSIS  # reports/analysis/<date>/<run-id>/: the run's record


@dataclass(kw_only=True)
class AnalysisSummary(RunSummary):
    """``run_analysis``'s summary, with its typed record for the next flow (delivery)."""

    analysis: AnalysisTotals


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
    read_outputs(output_dir, tables=())  # files, keys and schemas checked; tables streamed
    files = {key: Path(output_dir) / f"{key}.parquet" for key in MART_TABLES}
    resources = get_resources()
    with warehouse_lock(resources.lake, get_settings().lock_wait_seconds):
        engine = resources.warehouse.engine()
        try:
            return load_run(engine, run_id, files)
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
    hidden_share: float = 0.2,
    top_n: int = 20,
    scoring_chunk: int = 5_000,
    scoring_cluster: str | None = None,
    lightgbm_trees: int = 150,
    forest_trees: int = 40,
    forest_depth: int = 14,
    conversion_trees: int = 200,
    notebook: str | None = None,
    extra_parameters: dict[str, object] | None = None,
    cell_timeout: float = runner.CELL_TIMEOUT_SECONDS,
    time_limit: float = runner.TIME_LIMIT_SECONDS,
) -> AnalysisSummary:
    """Run the demand notebook, keep it in the lake, load its outputs into the mart, then
    render and archive it: the run's manifest, written last, is its commit point."""
    logger = get_run_logger()
    run_id = runner.check_run_id(run_id or layout.new_run_id())
    notebook_path = Path(notebook) if notebook else runner.demand_notebook()
    day = dt.datetime.now(dt.UTC).date()
    folder = layout.analysis_run_folder(day, run_id)
    tuning = {  # the notebook's ranking and model-size parameters, passed as they are
        "hidden_share": hidden_share,
        "top_n": top_n,
        "scoring_chunk": scoring_chunk,
        "scoring_cluster": scoring_cluster,
        "lightgbm_trees": lightgbm_trees,
        "forest_trees": forest_trees,
        "forest_depth": forest_depth,
        "conversion_trees": conversion_trees,
    }
    extra_parameters = {**tuning, **(extra_parameters or {})}
    options = {name: value for name, value in locals().items() if name in NOTEBOOK_OPTIONS}
    wait = get_settings().lock_wait_seconds
    stages: list[Stage] = []
    with analysis_lock(get_resources().lake, release, wait), work_folder("bigd-analysis-") as work:
        record = work / "record"
        parameters = _parameters(run_id, record / layout.OUTPUTS, **options)
        try:
            runner.check_parameters(notebook_path, parameters)  # before any kernel starts
            if get_resources().report_store().withdraw(folder):
                logger.info("run %s ran before: its record is replaced", run_id)
            logger.info("run %s: %s with %s", run_id, notebook_path.name, parameters)
            limits = (cell_timeout, time_limit)
            loaded, metrics = _notebook_then_mart(
                run_id, notebook_path, record, folder, parameters, limits, stages
            )
        except BaseException as error:
            if stages or record.exists():  # a run that started: its record says how far
                try:
                    failure = _failure(stages, error)
                    _commit(folder, notebook_path.name, run_id, day, stages, failure)
                except Exception:  # the run's own error is the one to raise
                    logger.exception("run %s: could not archive the failed run", run_id)
            raise
        manifest = _commit(folder, notebook_path.name, run_id, day, stages, None)
    return _summary(run_id, folder, notebook_path.name, metrics, loaded, manifest.stages)


NOTEBOOK_OPTIONS: tuple[str, ...] = (
    "categories",
    "release",
    "window_start",
    "window_end",
    "months",
)
NOTEBOOK_OPTIONS += ("cv_folds", "random_seed", "sample_size", "extra_parameters")


def _parameters(run_id: str, output_dir: Path, **options: Any) -> dict[str, object]:
    """The notebook's parameters (checked against its ``parameters`` cell before a run)."""
    categories, extra = options.pop("categories"), options.pop("extra_parameters")
    return {
        "run_id": run_id,
        "categories": list(categories) if categories else None,
        "output_dir": str(output_dir),
        **options,
        **(extra or {}),
    }


def _notebook_then_mart(
    run_id: str,
    notebook: Path,
    record: Path,
    folder: str,
    parameters: dict[str, object],
    limits: tuple[float, float],
    stages: list[Stage],
) -> tuple[dict[str, int], dict[str, Any]]:
    """The notebook (kept in the lake, failed or not), then the mart; ``stages`` grows as
    each completes."""
    lake = get_resources().lake
    output_dir = record / layout.OUTPUTS
    try:
        execute_notebook(notebook, record / notebook.name, parameters, *limits)
        stages.append("notebook")
    finally:  # the executed notebook is the run's record, failed or not
        kept = runner.keep(lake, folder, record)
        get_run_logger().info("kept %d files under %s", len(kept), lake.uri(folder))
    loaded = load_mart(run_id, output_dir)
    stages.append("mart")
    return loaded, read_outputs(output_dir, tables=())["metrics"]  # checked, tables not read


def _failure(stages: list[Stage], error: BaseException) -> str:
    stage = "mart" if "notebook" in stages else "notebook"
    return f"{stage}: {type(error).__name__}: {error}"


def _commit(
    folder: str,
    notebook_name: str,
    run_id: str,
    day: dt.date,
    stages: list[Stage],
    error: str | None,
) -> ReportManifest:
    """Render the kept notebook (analyst and marketing HTML) and write the run's manifest
    last: succeeded only when the notebook and the mart both completed."""
    from flows.report_flow import ReportFailed, render_report

    executed = f"{folder}/{notebook_name}"
    try:
        render_report(
            executed,
            notebook=REPORT_NAME,
            run_id=run_id,
            analysis_dir=layout.outputs_prefix(folder),
            stages=[*stages, "reports"],
            error=error,
            report_date=day.isoformat(),
        )
    except ReportFailed:
        pass  # archived and marked failed; the run's own error is raised by the caller
    except Exception:
        if error is None:
            raise
        get_run_logger().exception("could not render the failed notebook %s", executed)
    store = get_resources().report_store()
    manifest = store.manifest_of(folder)
    if manifest is None:
        raise RuntimeError(f"run {run_id}: no manifest was written under {folder}")
    return manifest


def _summary(
    run_id: str,
    folder: str,
    notebook_name: str,
    metrics: dict[str, Any],
    loaded: dict[str, int],
    stages: list[Stage],
) -> AnalysisSummary:
    head = metrics["headline"]
    analysis = AnalysisTotals(
        run_id=run_id,
        report=get_resources().lake.uri(f"{folder}/{notebook_name}"),
        outputs=layout.outputs_prefix(folder),
        manifest=layout.report_manifest_key(folder),
        release=metrics["release"],
        window=metrics["window"],
        headline={k: v for k, v in head.items() if not isinstance(v, dict | list)},
        ensemble_weights=metrics["ensemble_weights"],
        mart_rows=loaded,
        stages=stages,
    )
    summary = AnalysisSummary(
        flow="run_analysis",
        line=(
            f"run {run_id}: ensemble RMSE {head['ensemble_rmse']:,.0f} vs baseline "
            f"{head['baseline_rmse']:,.0f} ({head['improvement_vs_baseline']:.0%} lower), "
            f"R² {head['ensemble_r2']:.2f}; {head['prospects_scored']:,} prospects scored; "
            f"hidden customers: top-decile lift {head['top_decile_lift']:.2f}, "
            f"AUC {head['auc']:.3f}"
        ),
        rows=[
            {"model": name, "weight": round(weight, 4)}
            for name, weight in metrics["ensemble_weights"].items()
        ],
        # the same numbers, flat, for the console and the demo (keys as before)
        totals={**analysis.model_dump(exclude={"headline"}), **analysis.headline},
        description=f"Ensemble demand analysis; notebook {analysis.report}",
        analysis=analysis,
    )
    publish_run(summary)
    return summary
