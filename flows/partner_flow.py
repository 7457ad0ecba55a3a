"""``ingest_partner``: the partner's categories and establishments in full, sales day by day.

partner API ──► raw/partner (restricted) ──► validate ──► quarantine/partner (reasons)
                                                 └──► scrub ──► trusted/partner (Parquet)

Sales are incremental: the run fetches the days after the watermark in
``state/partner/watermark.json`` up to yesterday (the first run: the last
365 days), and the watermark moves only after a day is fully written. ``since``
re-fetches older days; each day's partition is replaced whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.resources import get_resources
from flows.runs import RunSummary, merge_scrub_reports, publish_run
from flows.sources.partner_api import PartnerApiClient, PartnerApiError, RetryPolicy
from flows.sources.partner_ingest import (
    IngestContext,
    SalesOutcome,
    TableResult,
    ingest_full_table,
    ingest_sales_days,
    plan_days,
    read_watermark,
)

DAYS_PER_TASK = 31


@dataclass
class PartnerRunSummary:
    """What a run did, for the caller and the run-summary artifact."""

    requests: int = 0
    retries: int = 0
    results: list[TableResult] = field(default_factory=list)
    watermark: dt.date | None = None
    failed_day: dt.date | None = None
    error: str | None = None

    def total(self, name: str, table: str | None = None) -> int:
        return sum(
            getattr(result, name) for result in self.results if table in (None, result.table)
        )

    def rows(self) -> list[dict[str, object]]:
        """One line per table and day, then a totals line with requests and retries."""
        lines = [{**result.row(), "requests": "", "retries": ""} for result in self.results]
        totals = {
            "table": "TOTAL",
            "day": f"watermark {self.watermark or '-'}",
            **{name: self.total(name) for name in ("fetched", "rows", "quarantined")},
            "duplicates": self.total("duplicates"),
            "attempts": self.total("attempts"),
            "requests": self.requests,
            "retries": self.retries,
        }
        return [*lines, totals]

    def __str__(self) -> str:
        days = sum(1 for result in self.results if result.day)
        text = (
            f"{self.total('rows', 'sales'):,} sales over {days} days, "
            f"{self.total('rows', 'establishments'):,} establishments, "
            f"{self.total('rows', 'categories'):,} categories; "
            f"{self.total('quarantined')} quarantined, {self.total('duplicates')} duplicates; "
            f"{self.requests} requests, {self.retries} retries; watermark {self.watermark}"
        )
        return text + (f"; FAILED at {self.failed_day}" if self.failed_day else "")


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
    timeout_seconds: float = 30.0,
    retry_attempts: int = 5,
    retry_base_seconds: float = 1.0,
    max_concurrency: int = 4,
) -> PartnerRunSummary:
    """Categories and establishments in full, then the sale days not yet ingested."""
    log = get_run_logger()
    resources = get_resources()
    lake = resources.lake
    retry = RetryPolicy(attempts=retry_attempts, base_delay=retry_base_seconds)
    client = PartnerApiClient(
        resources.partner_url(),
        resources.partner_key(),
        timeout=timeout_seconds,
        max_concurrency=max_concurrency,
        retry=retry,
    )
    summary = PartnerRunSummary()
    with client:
        ctx = IngestContext(lake, client, resources.pseudonym_key())
        try:
            for table in ("Category", "Establishment"):
                summary.results.append(ingest_table(ctx, table))
            watermark = read_watermark(lake)
            days = plan_days(watermark, since, until, today=dt.date.today())
            summary.watermark = watermark
            log.info("sales: %d days to fetch (watermark %s)", len(days), watermark)
            for start in range(0, len(days), DAYS_PER_TASK):
                outcome = ingest_sales(ctx, days[start : start + DAYS_PER_TASK], max_concurrency)
                summary.results.extend(outcome.results)
                summary.watermark = outcome.watermark
                if outcome.failed_day is not None:
                    summary.failed_day, summary.error = outcome.failed_day, outcome.error
                    break
        finally:
            summary.requests, summary.retries = client.stats.requests, client.stats.retries
            _publish(summary)
    if summary.failed_day is not None:
        raise PartnerApiError(f"sales of {summary.failed_day} failed: {summary.error}")
    return summary


def _publish(summary: PartnerRunSummary) -> None:
    """The run summary and the scrub counts, published the way every flow publishes them."""
    publish_run(
        RunSummary(
            flow="ingest_partner",
            line=str(summary),
            rows=summary.rows(),
            scrub=merge_scrub_reports(result.scrub for result in summary.results),
            description="Partner API ingestion: rows fetched, written, quarantined and "
            "duplicated per table and sale day; requests and retries of the run.",
        )
    )
