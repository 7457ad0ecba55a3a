"""``ingest_partner``: the partner's categories and establishments in full, sales day by day.

partner API ──► raw/partner (restricted) ──► validate ──► quarantine/partner (reasons)
                                                 └──► scrub ──► trusted/partner (Parquet)

Sales are incremental: the run fetches the days after the watermark in
``state/partner/watermark.json`` up to yesterday in São Paulo (the first run: the last
365 days), and the watermark moves only after a day is fully written, never past
yesterday. ``since`` re-fetches older days; each day's partition is replaced whole.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import layout
from flows.config import get_settings
from flows.guards import TableGuard
from flows.locks import LockHeld, holder_run_id, lake_lock
from flows.resources import get_resources
from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.sources.partner.client import PartnerApiError
from flows.sources.partner.ingest import (
    IngestContext,
    SalesOutcome,
    TableResult,
    check_dates,
    ingest_full_table,
    ingest_sales_days,
    last_complete_day,
    partner_today,
    plan_days,
    read_watermark,
)
from flows.sources.partner.summary import PartnerRun, run_summary
from flows.sources.partner.tables import CATEGORIES, ESTABLISHMENTS

DAYS_PER_TASK = 31


class PartnerLocked(LockHeld):
    """Another live run is ingesting the partner source."""


@task(cache_policy=NONE)
def ingest_table(ctx: IngestContext, table: str) -> TableResult:
    """A whole table (the client retries; a task retry would multiply its attempts)."""
    return ingest_full_table(ctx, table)


@task(cache_policy=NONE)
def ingest_sales(ctx: IngestContext, days: list[dt.date], workers: int) -> SalesOutcome:
    """A run of consecutive sale days, written concurrently, the watermark moved in order."""
    outcome = ingest_sales_days(ctx, days, workers=workers)
    get_run_logger().info(
        "sales %s..%s: %d days written, watermark %s",
        days[0],
        days[-1],
        len(outcome.results),
        outcome.watermark,
    )
    return outcome


@flow(name="ingest_partner")
def ingest_partner(
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
    timeout_seconds: float = 30.0,
    retry_attempts: int = 5,
    retry_base_seconds: float = 1.0,
    max_concurrency: int = 4,
    allow_shrink: bool = False,
) -> RunSummary:
    """Categories and establishments in full, then the sale days not yet ingested.

    ``today`` (the partner's, in America/Sao_Paulo, by default) is for tests: days from it
    on are not over, so they may be fetched as a preview but never move the watermark.
    A full table that comes back empty, mostly invalid or much smaller than the trusted
    one fails the run and the trusted one stays (``flows.guards``); ``allow_shrink``
    lets it through, and the summary says so.
    """
    today = today or partner_today()
    check_dates(since, until, today)  # before any request: contradictory dates fetch nothing
    log = get_run_logger()
    resources = get_resources()
    client = resources.partner_client(
        timeout=timeout_seconds,
        max_concurrency=max_concurrency,
        attempts=retry_attempts,
        base_delay=retry_base_seconds,
    )
    run = PartnerRun(last_complete=last_complete_day(today))
    settings = get_settings()
    guard = TableGuard(settings.max_bad_row_rate, settings.max_table_shrink, allow_shrink)
    lock = lake_lock(
        resources.lake,
        layout.lock_key("partner"),
        "the partner source",
        holder_run_id(),
        settings.lock_wait_seconds,
        PartnerLocked,
    )
    with lock, client:  # one run at a time: tables, sale days and the watermark are shared
        ctx = IngestContext(
            resources.lake, client, resources.pseudonym_key(), today=today, guard=guard
        )
        try:
            for table in (CATEGORIES, ESTABLISHMENTS):
                run.results.append(ingest_table(ctx, table.api))
            run.watermark = read_watermark(resources.lake, today)
            days = plan_days(run.watermark, since, until, today=today)
            log.info("sales: %d days to fetch (watermark %s)", len(days), run.watermark)
            for start in range(0, len(days), DAYS_PER_TASK):
                outcome = ingest_sales(ctx, days[start : start + DAYS_PER_TASK], max_concurrency)
                run.results.extend(outcome.results)
                run.watermark = outcome.watermark
                if outcome.failed_day is not None:
                    run.failed_day, run.error = outcome.failed_day, outcome.error
                    break
        finally:  # what was done is published even when a step failed
            run.requests, run.retries = client.stats.requests, client.stats.retries
            summary = run_summary(run)
            publish_run(summary)
    if run.failed_day is not None:
        raise PartnerApiError(f"sales of {run.failed_day} failed: {run.error}")
    return summary
