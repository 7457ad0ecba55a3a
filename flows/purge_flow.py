"""The ``purge`` flow: delete raw partner data past its retention period (LGPD)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.purge import PARTNER_RAW_PREFIX, PurgeResult, purge_partner_raw
from flows.resources import get_resources
from flows.retry import prefect_retry_condition

_NOTHING = {
    "key": "(nothing expired)",
    "size_bytes": 0,
    "age_date": "",
    "age_from": "",
    "deleted": False,
}


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=prefect_retry_condition)
def purge_partner_raw_task(days: int, dry_run: bool) -> PurgeResult:
    """Delete (or list, in a dry run) expired objects under ``raw/partner/``; idempotent."""
    return purge_partner_raw(get_resources().lake, days, dry_run=dry_run)


@flow(name="purge")
def purge(dry_run: bool = False) -> PurgeResult:
    """Purge raw partner data older than ``BIGD_PARTNER_RETENTION_DAYS`` days."""
    settings = get_resources().settings
    result = purge_partner_raw_task(settings.partner_retention_days, dry_run)
    get_run_logger().info(result.describe())
    create_table_artifact(
        key="purge-partner-raw",
        table=result.to_rows() or [_NOTHING],
        description=f"{result.describe()}. Prefix {PARTNER_RAW_PREFIX}; "
        f"retention {settings.partner_retention_days} days.",
    )
    return result
