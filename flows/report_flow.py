"""Delivery: reports for people, messages for systems.

    analysis output folder ─┬─► publish_results ─► Kafka topics (or the lake's outbox)
                            └─► render_infographic ─► papermill ─► analyst + marketing HTML
                                                      ─► reports/ in the lake (index, latest)
                                                      ─► bigd.reports message

Both run after ``run_analysis`` (given its output folder) and on their own schedule:
every parameter has a default, the newest analysis run whose manifest says succeeded
(a run's manifest is its commit point: a run killed before it is never delivered).
A failed notebook is still rendered and archived, marked failed, and then fails the flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact

from flows import layout
from flows.contracts import ReportManifest, ReportRecord, Stage
from flows.lake import Lake
from flows.publish import Topics, report_message
from flows.publish.publisher import PublishError
from flows.reports.archive import ReportStore, report_store
from flows.reports.index import metric_text
from flows.reports.run import (
    archive_run,
    from_papermill,
    make_report,
    new_run_id,
    report_record,
)
from flows.resources import get_resources


class ReportFailed(RuntimeError):
    """The notebook failed; its rendered version is archived and marked failed."""


class RunNotCommitted(RuntimeError):
    """The analysis run was killed before its manifest, is still running, or failed."""


def _lake() -> Lake:
    return get_resources().lake


def _store(lake: Lake | None = None) -> ReportStore:
    if lake is None or lake is get_resources().lake:
        return get_resources().report_store()
    return report_store(lake, lake.s3_endpoint_url)


def latest_analysis_outputs(archive: Lake | ReportStore) -> str:
    """The output folder of the newest analysis run whose manifest says succeeded (by
    report date, then start time), for scheduled runs that are given none."""
    store = archive if isinstance(archive, ReportStore) else _store(archive)
    runs = store.succeeded(layout.ANALYSIS)
    if not runs:
        raise FileNotFoundError(
            f"no succeeded analysis run in the lake yet ({layout.report_prefix(layout.ANALYSIS)}/"
            f"<date>/<run-id>/{layout.REPORT_MANIFEST}): run_analysis first"
        )
    return layout.outputs_prefix(runs[0].folder)


def committed_analysis(store: ReportStore, analysis_dir: str) -> ReportManifest | None:
    """The manifest of the analysis run ``analysis_dir`` belongs to, when it is a run of
    the archive (None for a folder outside it, given on purpose); a run that never
    committed or failed is refused."""
    folder = layout.run_folder_of(analysis_dir)
    if folder is None:
        return None
    manifest = store.manifest_of(folder)
    if manifest is None:
        raise RunNotCommitted(
            f"{analysis_dir}: its run has no manifest (killed, or still running): not delivered"
        )
    if not manifest.succeeded:
        raise RunNotCommitted(f"{analysis_dir}: its run failed ({manifest.error}): not delivered")
    return manifest


# No task retries: the publisher retries an unreachable broker itself (flows.retry's rule).
@task
def publish_task(analysis_dir: str) -> dict[str, int]:
    """Build, validate and publish every message of one committed analysis run
    (idempotent), streamed from its output files in bounded batches
    (``flows.publish.stream``); its manifest then records the ``publish`` stage."""
    from flows.publish.stream import stream_run_messages

    resources = get_resources()
    store = resources.report_store()
    analysis_dir = analysis_dir or latest_analysis_outputs(store)
    run = committed_analysis(store, analysis_dir)
    topics = Topics.from_settings(resources.settings)
    messages = stream_run_messages(resources.lake, analysis_dir, topics)
    counts = resources.publisher().publish(messages)
    if run is not None:
        store.mark_stage(run, "publish")
    return counts


@flow(name="publish_results", log_prints=True)
def publish_results(analysis_dir: str = "") -> dict[str, int]:
    """Publish an analysis run's potential, prospects and metrics; count per topic."""
    counts = publish_task(analysis_dir)
    create_table_artifact(
        key="published-results",
        table=[{"topic": topic, "messages": count} for topic, count in sorted(counts.items())],
        description=f"Messages acknowledged per topic for {analysis_dir or 'the newest run'}.",
    )
    get_run_logger().info("published %s", counts)
    return counts


@task
def render_task(
    notebook: str, parameters: dict[str, Any], run_id: str | None, analysis_dir: str
) -> ReportManifest:
    return make_report(_store(), notebook, parameters, run_id, analysis_dir)


def announce_report(manifest: ReportManifest) -> ReportRecord:
    """Prefect artifacts for the archived run, and its ``bigd.reports`` message."""
    resources = get_resources()
    record = report_record(resources.report_store(), manifest)
    slug = manifest.notebook.replace("_", "-").lower()
    for audience, link in (("marketing", record.marketing_html), ("analyst", record.analyst_html)):
        create_link_artifact(
            key=f"report-{slug}-{audience}",
            link=link,
            link_text=f"{manifest.notebook} ({audience}, {manifest.status})",
            description=f"Run {manifest.run_id} of {manifest.report_date}.",
        )
    create_table_artifact(
        key=f"report-{slug}-headline",
        table=[{"metric": metric_text(k, v)} for k, v in manifest.headline.items()]
        or [{"metric": "no analysis metrics"}],
        description=f"Headline metrics of {manifest.notebook} run {manifest.run_id}.",
    )
    topics = Topics.from_settings(resources.settings)
    message = report_message(record.model_dump(), manifest.run_id, topics)
    try:
        resources.publisher().publish([message])
    except PublishError as error:  # the report is archived; say so, then fail loudly
        raise PublishError(f"report archived at {record.marketing_html}, but {error}") from None
    return record


def _analysis_for_report(analysis_dir: str) -> str:
    """The analysis a report shows: the one given (if its run committed), else the newest
    succeeded run, else none (the report says there is no analysis yet)."""
    store = _store()
    if analysis_dir:
        committed_analysis(store, analysis_dir)
        return analysis_dir
    try:
        return latest_analysis_outputs(store)
    except FileNotFoundError:
        return ""


@flow(name="render_infographic", log_prints=True)
def render_infographic(
    analysis_dir: str = "",
    categories: list[str] | None = None,
    top_n: int = 10,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Render the marketing infographic (with the analysis of ``analysis_dir``; default:
    the newest succeeded analysis run), archive both versions, point Prefect artifacts at
    them and announce it. No ``categories``: those of the analysis run (every section
    answers for them)."""
    analysis_dir = _analysis_for_report(analysis_dir)
    parameters = {
        "analysis_dir": analysis_dir,
        "categories": list(categories or []),
        "top_n": top_n,
    }
    manifest = render_task("infographic", parameters, run_id, analysis_dir)
    record = announce_report(manifest)
    logger = get_run_logger()
    logger.info("report %s: %s", manifest.status, record.marketing_html)
    if not manifest.succeeded:
        raise ReportFailed(
            f"infographic failed ({manifest.error}); archived at {record.analyst_html}"
        )
    return record.model_dump()


@flow(name="render_report", log_prints=True)
def render_report(
    executed_notebook: str,
    notebook: str = "demand_ensemble",
    run_id: str | None = None,
    analysis_dir: str = "",
    stages: list[Stage] | None = None,
    error: str | None = None,
    report_date: str | None = None,
) -> dict[str, Any]:
    """Render and archive a notebook another flow already ran with papermill (e.g. the
    analysis notebook of ``run_analysis``): a lake key or a local path. ``stages``,
    ``error`` and ``report_date`` come from that flow: its manifest, written here last,
    is the run's commit point."""
    lake = _lake()
    source = Path(executed_notebook)
    data = source.read_bytes() if source.is_file() else lake.read_bytes(executed_notebook)
    run = from_papermill(nbformat.reads(data.decode(), as_version=4))
    run_id = run_id or new_run_id()
    title = run.notebook.metadata.get("title")
    manifest = archive_run(
        _store(lake),
        notebook,
        run_id,
        run,
        analysis_dir,
        title,
        stages=stages,
        error=error,
        report_date=report_date,
        executed_key=executed_notebook,
    )
    record = announce_report(manifest)
    if not manifest.succeeded:
        raise ReportFailed(f"{notebook} failed ({manifest.error}); archived")
    return record.model_dump()


@flow(name="deliver_analysis", log_prints=True)
def deliver_analysis(analysis_dir: str = "", categories: list[str] | None = None) -> dict[str, Any]:
    """After ``run_analysis``: publish its results, then render the infographic (default:
    the newest succeeded analysis run in the lake, for the run's own categories)."""
    analysis_dir = analysis_dir or latest_analysis_outputs(_store())
    counts = publish_results(analysis_dir)
    report = render_infographic(analysis_dir=analysis_dir, categories=categories)
    return {"published": counts, "report": report["marketing_html"], "index": report["index"]}
