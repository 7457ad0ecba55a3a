"""The ``purge`` flow: delete raw partner data past its retention period (LGPD)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.config import get_settings
from flows.lake import Lake
from flows.purge import PARTNER_RAW_PREFIX, PurgeResult, purge_partner_raw

_NOTHING = {
    "key": "(nothing expired)",
    "size_bytes": 0,
    "age_date": "",
    "age_from": "",
    "deleted": False,
}


@task(retries=2, retry_delay_seconds=[2, 10])
def purge_partner_raw_task(
    lake_root: str, endpoint: str | None, days: int, dry_run: bool
) -> PurgeResult:
    """Delete (or list, in a dry run) expired objects under ``raw/partner/``; idempotent."""
    return purge_partner_raw(Lake.from_url(lake_root, endpoint), days, dry_run=dry_run)


@flow(name="purge")
def purge(dry_run: bool = False) -> PurgeResult:
    """Purge raw partner data older than ``BIGD_PARTNER_RETENTION_DAYS`` days."""
    settings = get_settings()
    result = purge_partner_raw_task(
        settings.lake_root, settings.s3_endpoint_url, settings.partner_retention_days, dry_run
    )
    get_run_logger().info(result.describe())
    create_table_artifact(
        key="purge-partner-raw",
        table=result.to_rows() or [_NOTHING],
        description=f"{result.describe()}. Prefix {PARTNER_RAW_PREFIX}; "
        f"retention {settings.partner_retention_days} days.",
    )
    return result
