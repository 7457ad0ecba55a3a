"""Flow ``ingest_public``: every dataset of the public catalog into the lake.

catalog entry -> fetch (path or HTTP; a pinned IBGE file once, resumable) -> raw/public/ ->
read as its format says (fixed-width zip, spreadsheet, csv) and build the table (IPM-NM, POF
aggregates, population) -> validate (pandera) -> scrub -> trusted/public/<dataset>/. A dataset
that fails does not stop the others; the flow raises at the end naming the ones that failed.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.guards import TableGuard
from flows.lake import Lake
from flows.resources import get_resources
from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.scrub import scrub_table
from flows.sources.public import (
    IngestedDataset,
    PlannedDataset,
    Scrubber,
    fetch,
    ingest_dataset,
    load_catalog,
    plan,
)
from flows.sources.public.outcome import DatasetOutcome, run_summary


class PublicIngestError(RuntimeError):
    """Some datasets failed; the message names each one and why."""


# No task retries: the download retries transient trouble itself (flows.retry's rule);
# retrying the task too would multiply the attempts and retry errors that cannot heal.
@task(cache_policy=NO_CACHE, task_run_name="fetch-{planned.name}")
def fetch_dataset(planned: PlannedDataset, lake: Lake, day: dt.date, work_dir: Path) -> str:
    """Copy one dataset's file into the raw zone (a pinned file once, resumably)."""
    return fetch(planned, lake, day, work_dir)


@task(cache_policy=NO_CACHE, task_run_name="publish-{planned.name}")
def publish_dataset(
    planned: PlannedDataset, raw: str, lake: Lake, scrub: Scrubber, guard: TableGuard
) -> IngestedDataset:
    """Validate, scrub and write one dataset to ``trusted/public/<dataset>/``."""
    return ingest_dataset(planned, raw, lake, scrub, guard)


@flow(name="ingest_public")
def ingest_public(
    dataset: str | None = None,
    catalog: str | None = None,
    source: str | None = None,
    location: str | None = None,
    production: bool = False,
    allow_shrink: bool = False,
) -> RunSummary:
    """Ingest the catalog's public datasets (or only ``dataset``).

    ``catalog`` is a catalog file (default: the package's); ``source`` is the folder or base
    URL that ``{source}`` stands for in its locations (e.g. a sample release; default:
    ``BIGD_PUBLIC_SOURCE``); ``production`` reads IBGE's published files; ``location`` reads
    ``dataset`` from another file. A dataset that comes back empty or much smaller than
    its trusted table fails and the trusted one stays, unless ``allow_shrink``
    (``flows.guards``; the summary's notes record the override).
    """
    log = get_run_logger()
    resources = get_resources()
    settings = resources.settings
    planned = plan(
        load_catalog(catalog),
        dataset,
        source or settings.public_source,
        location=location,
        production=production,
    )
    work_dir = settings.data_dir / "downloads" / "public"  # partial downloads, resumable
    lake = resources.lake
    scrub = functools.partial(scrub_table, key=resources.pseudonym_key())
    day = dt.datetime.now(dt.UTC).date()
    guard = TableGuard(settings.max_bad_row_rate, settings.max_table_shrink, allow_shrink)

    outcomes: list[DatasetOutcome] = []
    for item in planned:
        outcome = DatasetOutcome(item.name)
        try:
            raw = fetch_dataset(item, lake, day, work_dir)
            result = publish_dataset(item, raw, lake, scrub, guard)
        except Exception as error:  # one dataset's failure must not stop the others
            outcome.status, outcome.message = "failed", str(error) or type(error).__name__
            log.error("public dataset %s failed: %s", item.name, outcome.message)
        else:
            outcome.rows, outcome.message = result.rows, result.notes
            outcome.trusted_key, outcome.scrub = result.trusted_key, result.scrub_report
            log.info("public dataset %s: %d rows -> %s", item.name, result.rows, result.trusted_key)
        outcomes.append(outcome)

    summary = run_summary(outcomes)
    publish_run(summary)
    if failed := [o for o in outcomes if o.failed]:
        details = "; ".join(f"{o.dataset}: {o.message}" for o in failed)
        raise PublicIngestError(
            f"{len(failed)} of {len(outcomes)} public datasets failed: {details}"
        )
    return summary
