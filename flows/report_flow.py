"""Delivery: reports for people, messages for systems.

    analysis output folder ─┬─► publish_results ─► Kafka topics (or the lake's outbox)
                            └─► render_infographic ─► papermill ─► analyst + marketing HTML
                                                      ─► reports/ in the lake (index, latest)
                                                      ─► bigd.reports message

Both run after ``run_analysis`` (given its output folder) and on their own schedule:
every parameter has a default. A failed notebook is still rendered and archived,
marked failed, and then fails the flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact

from flows.config import get_settings
from flows.lake import Lake
from flows.publish import Topics, report_message
from flows.publish.publisher import PublishError
from flows.reports.archive import ReportStore
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


def _lake() -> Lake:
    return get_resources().lake


def _store(lake: Lake) -> ReportStore:
    return get_resources().report_store()


# No task retries: the publisher retries an unreachable broker itself (flows.retry's rule).
def latest_analysis_outputs(lake: Lake) -> str:
    """The output folder of the newest analysis run kept in the lake (by report date,
    then time written), for scheduled runs that are given none."""
    runs = [
        obj for obj in lake.list("reports/analysis/") if obj.key.endswith("/outputs/metrics.json")
    ]
    if not runs:
        raise FileNotFoundError(
            "no analysis run in the lake yet (reports/analysis/): run_analysis first"
        )
    newest = max(runs, key=lambda obj: (obj.key.split("/")[2], obj.modified))
    return newest.key.rsplit("/", 1)[0]


@task
def publish_task(analysis_dir: str) -> dict[str, int]:
    """Build, validate and publish every message of one analysis run (idempotent),
    streamed from its output files in bounded batches (``flows.publish.stream``)."""
    from flows.publish.stream import stream_run_messages

    settings = get_settings()
    lake = _lake()
    analysis_dir = analysis_dir or latest_analysis_outputs(lake)
    messages = stream_run_messages(lake, analysis_dir, Topics.from_settings(settings))
    return get_resources().publisher().publish(messages)


@flow(name="publish_results", log_prints=True)
def publish_results(analysis_dir: str = "") -> dict[str, int]:
    """Publish an analysis run's potential, prospects and metrics; count per topic."""
    counts = publish_task(analysis_dir)
    create_table_artifact(
        key="published-results",
        table=[{"topic": topic, "messages": count} for topic, count in sorted(counts.items())],
        description=f"Messages acknowledged per topic for {analysis_dir}.",
    )
    get_run_logger().info("published %s", counts)
    return counts


@task
def render_task(
    notebook: str, parameters: dict[str, Any], run_id: str | None, analysis_dir: str
) -> dict[str, Any]:
    return make_report(_store(_lake()), notebook, parameters, run_id, analysis_dir)


def announce_report(manifest: dict[str, Any]) -> dict[str, Any]:
    """Prefect artifacts for the archived run, and its ``bigd.reports`` message."""
    settings = get_settings()
    lake = _lake()
    store = _store(lake)
    record = report_record(store, manifest)
    slug = manifest["notebook"].replace("_", "-").lower()
    for audience in ("marketing", "analyst"):
        create_link_artifact(
            key=f"report-{slug}-{audience}",
            link=record[f"{audience}_html"],
            link_text=f"{manifest['notebook']} ({audience}, {manifest['status']})",
            description=f"Run {manifest['run_id']} of {manifest['report_date']}.",
        )
    create_table_artifact(
        key=f"report-{slug}-headline",
        table=[{"metric": metric_text(k, v)} for k, v in manifest["headline"].items()]
        or [{"metric": "no analysis metrics"}],
        description=f"Headline metrics of {manifest['notebook']} run {manifest['run_id']}.",
    )
    message = report_message(record, manifest["run_id"], Topics.from_settings(settings))
    try:
        get_resources().publisher().publish([message])
    except PublishError as error:  # the report is archived; say so, then fail loudly
        raise PublishError(f"report archived at {record['marketing_html']}, but {error}") from None
    return record


@flow(name="render_infographic", log_prints=True)
def render_infographic(
    analysis_dir: str = "",
    categories: list[str] | None = None,
    top_n: int = 10,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Render the marketing infographic (with the analysis of ``analysis_dir`` if given),
    archive both versions, point Prefect artifacts at them and announce it. No
    ``categories``: those of the analysis run (every section answers for them)."""
    parameters = {
        "analysis_dir": analysis_dir,
        "categories": list(categories or []),
        "top_n": top_n,
    }
    manifest = render_task("infographic", parameters, run_id, analysis_dir)
    record = announce_report(manifest)
    logger = get_run_logger()
    logger.info("report %s: %s", manifest["status"], record["marketing_html"])
    if manifest["status"] == "failed":
        raise ReportFailed(
            f"infographic failed ({manifest['error']}); archived at {record['analyst_html']}"
        )
    return {"status": manifest["status"], "index": record["index"], **record}


@flow(name="render_report", log_prints=True)
def render_report(
    executed_notebook: str,
    notebook: str = "demand_ensemble",
    run_id: str | None = None,
    analysis_dir: str = "",
) -> dict[str, Any]:
    """Render and archive a notebook another flow already ran with papermill (e.g. the
    analysis notebook of ``run_analysis``): a lake key or a local path."""
    lake = _lake()
    source = Path(executed_notebook)
    data = source.read_bytes() if source.is_file() else lake.read_bytes(executed_notebook)
    run = from_papermill(nbformat.reads(data.decode(), as_version=4))
    run_id = run_id or new_run_id(notebook)
    title = run.notebook.metadata.get("title")
    manifest = archive_run(
        _store(lake), notebook, run_id, run, analysis_dir, title, executed_key=executed_notebook
    )
    record = announce_report(manifest)
    if manifest["status"] == "failed":
        raise ReportFailed(f"{notebook} failed ({manifest['error']}); archived")
    return record


@flow(name="deliver_analysis", log_prints=True)
def deliver_analysis(analysis_dir: str = "", categories: list[str] | None = None) -> dict[str, Any]:
    """After ``run_analysis``: publish its results, then render the infographic (default:
    the newest analysis run in the lake, for the run's own categories)."""
    analysis_dir = analysis_dir or latest_analysis_outputs(_lake())
    counts = publish_results(analysis_dir)
    report = render_infographic(analysis_dir=analysis_dir, categories=categories)
    return {"published": counts, "report": report["marketing_html"], "index": report["index"]}
