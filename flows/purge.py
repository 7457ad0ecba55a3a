"""Retention purge of the restricted raw partner zone (``raw/partner/``).

An object's age comes from the first date folder in its key
(``raw/partner/<table>/<YYYY-MM-DD>/...``, also ``name=YYYY-MM-DD/``; the partner ingestion
writes the fetch date there). Keys without one fall back to the object's modification
time. An object is expired when that date is more than ``retention_days`` days before
today (UTC).
Nothing outside ``raw/partner/`` is ever listed or deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from flows.lake import Lake, LakeObject
from flows.runs import RunSummary
from flows.sources.partner.tables import RAW_PREFIX as PARTNER_RAW_PREFIX

logger = logging.getLogger(__name__)

_PARTITION_DATE = re.compile(r"^(?:[A-Za-z_]+=)?(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class ExpiredObject:
    """One raw partner object past retention (or deleted, after a purge)."""

    key: str
    size: int
    age_date: dt.date
    age_from: str  # "partition" or "modified"


@dataclass
class PurgeResult:
    """What a purge deleted (or would delete, in a dry run)."""

    cutoff: dt.date
    dry_run: bool
    expired: list[ExpiredObject] = field(default_factory=list)
    kept: int = 0

    @property
    def bytes(self) -> int:
        return sum(obj.size for obj in self.expired)


def run_summary(result: PurgeResult) -> RunSummary:
    """The purge's line (for the CLI and the logs) and one row per expired object."""
    verb = "would delete" if result.dry_run else "deleted"
    line = (
        f"purge of {PARTNER_RAW_PREFIX} (older than {result.cutoff.isoformat()}): {verb} "
        f"{len(result.expired)} objects, {result.bytes:,} bytes; kept {result.kept}"
    )
    return RunSummary(
        flow="purge",
        line=line,
        rows=[
            {
                "key": obj.key,
                "size_bytes": obj.size,
                "age_date": obj.age_date.isoformat(),
                "age_from": obj.age_from,
                "deleted": not result.dry_run,
            }
            for obj in result.expired
        ],
        totals={
            "expired": len(result.expired),
            "bytes": result.bytes,
            "kept": result.kept,
            "dry_run": result.dry_run,
        },
        description=f"{line}. Only keys under {PARTNER_RAW_PREFIX} are listed or deleted.",
    )


def partition_date(key: str) -> dt.date | None:
    """The first ``YYYY-MM-DD`` (or ``name=YYYY-MM-DD``) folder in a key, if any."""
    for part in key.split("/")[:-1]:
        match = _PARTITION_DATE.match(part)
        if match:
            try:
                return dt.date.fromisoformat(match.group(1))
            except ValueError:
                return None
    return None


def age_of(obj: LakeObject) -> tuple[dt.date, str]:
    """The date an object's age counts from, and where it came from."""
    date = partition_date(obj.key)
    if date is not None:
        return date, "partition"
    return obj.modified.astimezone(dt.UTC).date(), "modified"


def find_expired(lake: Lake, retention_days: int, today: dt.date | None = None) -> PurgeResult:
    """List the raw partner objects older than ``retention_days`` (deletes nothing)."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    today = today or dt.datetime.now(dt.UTC).date()
    result = PurgeResult(cutoff=today - dt.timedelta(days=retention_days), dry_run=True)
    for obj in lake.list(PARTNER_RAW_PREFIX):
        if not obj.key.startswith(PARTNER_RAW_PREFIX):  # never trust a listing with others' keys
            continue
        date, source = age_of(obj)
        if date < result.cutoff:
            result.expired.append(ExpiredObject(obj.key, obj.size, date, source))
        else:
            result.kept += 1
    return result


def purge_partner_raw(
    lake: Lake, retention_days: int, dry_run: bool = False, today: dt.date | None = None
) -> PurgeResult:
    """Delete raw partner objects past retention; ``dry_run`` only lists them. Idempotent."""
    result = find_expired(lake, retention_days, today)
    result.dry_run = dry_run
    if not dry_run:
        for obj in result.expired:
            lake.delete(obj.key)
            logger.info("purged %s (%d bytes)", obj.key, obj.size)
        _remove_empty_folders(lake)
    logger.info(run_summary(result).line)
    return result


def _remove_empty_folders(lake: Lake) -> None:
    """On a folder lake, drop partition folders the purge left empty (S3 has no folders)."""
    if not lake.is_local:
        return
    root = lake.local_path(PARTNER_RAW_PREFIX)
    if not root.exists():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
