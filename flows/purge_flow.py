"""The ``purge`` flow: delete raw partner data past its retention period (LGPD)."""

from __future__ import annotations

from prefect import flow, task

from flows.purge import PurgeResult, purge_partner_raw, run_summary
from flows.resources import get_resources
from flows.retry import prefect_retry_condition
from flows.run_artifacts import publish_run
from flows.runs import RunSummary


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=prefect_retry_condition)
def purge_partner_raw_task(days: int, dry_run: bool) -> PurgeResult:
    """Delete (or list, in a dry run) expired objects under ``raw/partner/``; idempotent."""
    return purge_partner_raw(get_resources().lake, days, dry_run=dry_run)


@flow(name="purge")
def purge(dry_run: bool = False) -> RunSummary:
    """Purge raw partner data older than ``BIGD_PARTNER_RETENTION_DAYS`` days."""
    settings = get_resources().settings
    summary = run_summary(purge_partner_raw_task(settings.partner_retention_days, dry_run))
    summary.description += f" Retention {settings.partner_retention_days} days."
    publish_run(summary)
    return summary
