"""One report, end to end, without Prefect: execute (or take an executed notebook),
render both versions, archive them with the analysis outputs, return the manifest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import nbformat

from flows import layout
from flows.contracts import Metric, ReportManifest, ReportRecord, Stage
from flows.lake import Lake
from flows.paths import notebook_path
from flows.publish.messages import METRICS_FILE, OUTPUT_FILES
from flows.reports.archive import ReportStore
from flows.reports.prospects import REPORT_INPUTS
from flows.reports.render import ExecutedNotebook, execute, render_both
from flows.workdirs import work_folder


def new_run_id(notebook: str = "") -> str:
    """The one run-id generator (``flows.layout.new_run_id``): UTC time and a random
    suffix, so two renders started in the same second never share a folder."""
    return layout.new_run_id()


def analysis_files(lake: Lake, analysis_dir: str) -> dict[str, bytes]:
    """The analysis output files a report was made from (those present)."""
    if not analysis_dir:
        return {}
    folder = analysis_dir.strip("/")
    return {
        name: lake.read_bytes(f"{folder}/{name}")
        for name in dict.fromkeys((*REPORT_INPUTS, *OUTPUT_FILES))
        if lake.exists(f"{folder}/{name}")
    }


def headline_of(outputs: dict[str, bytes]) -> dict[str, Metric]:
    """The analysis's headline metrics, if its ``metrics.json`` is among the outputs."""
    if METRICS_FILE not in outputs:
        return {}
    headline = json.loads(outputs[METRICS_FILE]).get("headline") or {}
    return {name: value for name, value in headline.items() if not isinstance(value, dict | list)}


def archive_run(
    store: ReportStore,
    notebook: str,
    run_id: str,
    run: ExecutedNotebook,
    analysis_dir: str = "",
    title: str | None = None,
    *,
    stages: list[Stage] | None = None,
    error: str | None = None,
    report_date: str | None = None,
    executed_key: str = "",
) -> ReportManifest:
    """Render an executed notebook (failed ones too) and archive it with its outputs;
    its manifest, written last, is the run's commit point (``ReportStore.archive``).
    The executed notebook (``executed_key``) and outputs already kept in the run's own
    folder (the analysis flow keeps them there) are recorded, not written twice."""
    render_both(run, title or notebook.replace("_", " ").title())
    outputs = analysis_files(store.lake, analysis_dir)
    folder = store.folder(notebook, report_date or store.run_date(run), run_id)
    kept: set[str] = set()
    notebook_file = None
    if analysis_dir.strip("/") == layout.outputs_prefix(folder):
        kept |= {f"{layout.OUTPUTS}/{name}" for name in outputs}
    if executed_key.rsplit("/", 1)[0] == folder:
        notebook_file = executed_key.rsplit("/", 1)[1]
        kept.add(notebook_file)
    return store.archive(
        notebook,
        layout.check_run_id(run_id),
        run,
        nbformat.writes(run.notebook).encode(),
        outputs=outputs,
        headline=headline_of(outputs),
        stages=stages,
        error=error,
        analysis_dir=analysis_dir,
        report_date=report_date,
        kept=frozenset(kept),
        notebook_file=notebook_file,
    )


def from_papermill(notebook: nbformat.NotebookNode) -> ExecutedNotebook:
    """An ExecutedNotebook from a notebook papermill already ran (parameters, start,
    duration and failure come from its ``metadata.papermill``)."""
    meta = notebook.metadata.get("papermill", {})
    started = meta.get("start_time")
    error = None
    if meta.get("exception"):
        failed = [
            output
            for cell in notebook.cells
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
        ]
        error = (
            f"{failed[-1]['ename']}: {failed[-1]['evalue']}" if failed else "the notebook failed"
        )
    return ExecutedNotebook(
        notebook=notebook,
        parameters=dict(meta.get("parameters") or {}),
        started_at=dt.datetime.fromisoformat(started) if started else dt.datetime.now(dt.UTC),
        duration_seconds=round(float(meta.get("duration") or 0.0), 2),
        error=error,
    )


def make_report(
    store: ReportStore,
    notebook: str,
    parameters: dict[str, Any],
    run_id: str | None = None,
    analysis_dir: str = "",
    notebook_dir: Path | None = None,
) -> ReportManifest:
    """Execute ``notebooks/<notebook>.ipynb`` with papermill, then ``archive_run``."""
    run_id = run_id or new_run_id(notebook)
    source = notebook_dir / f"{notebook}.ipynb" if notebook_dir else notebook_path(notebook)
    with work_folder("bigd-report-") as scratch:  # also removed after a kill -9 (F4)
        run = execute(source, scratch / f"{notebook}.ipynb", parameters)
    title = run.notebook.metadata.get("title")
    return archive_run(store, notebook, run_id, run, analysis_dir, title)


def report_record(store: ReportStore, manifest: ReportManifest) -> ReportRecord:
    """The ``bigd.reports`` payload of an archived run: where to find it."""
    folder = manifest.folder
    return ReportRecord(
        notebook=manifest.notebook,
        report_date=manifest.report_date,
        status=manifest.status,
        analyst_html=store.uri(f"{folder}/{manifest.files.analyst_html}"),
        marketing_html=store.uri(f"{folder}/{manifest.files.marketing_html}"),
        manifest=store.uri(layout.report_manifest_key(folder)),
        index=store.uri(layout.REPORTS_INDEX),
        headline=manifest.headline,
        error=manifest.error,
        stages=manifest.stages,
    )
