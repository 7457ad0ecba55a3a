"""Partner ingestion as plain functions: fetch, keep raw, validate, quarantine, scrub, write.

Lake layout (``<fetch-date>`` is the UTC day the run fetched, so retention counts from it):

- ``raw/partner/<table>/<fetch-date>/<table|sale_date=D>_<run>.json``: the body as fetched
  (restricted zone, purged after ``BIGD_PARTNER_RETENTION_DAYS``);
- ``quarantine/partner/<table>/<day>/rejected_<run>.jsonl``: one line per invalid record with
  its reason, position and id and the raw object it is in. The record itself is not
  copied, so partner data stays only in the restricted zone and goes when that is purged.
  ``<day>`` is the sale day for sales and the fetch day for the full tables;
- ``trusted/partner/categories|establishments/part-0.parquet`` (replaced each run) and
  ``trusted/partner/sales/sale_date=YYYY-MM-DD/part-0.parquet`` (a day is replaced whole);
- ``state/partner/watermark.json``: the last sale day such that it and every day before
  it (since the first run) is fully written.

Days are the partner's days (``America/Sao_Paulo``): a day is complete once it is over
there. The watermark never passes the last complete day (yesterday), so a scheduled run
always fetches again a day that was still going on when it was last fetched. ``until``
may be today: today's sales so far are written as a preview and replaced by the next run;
a later ``until`` (no sale exists yet) and a ``since`` after ``until`` are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from flows import layout
from flows.guards import TableGuard
from flows.lake import Lake
from flows.scrub import ScrubReport, scrub_table
from flows.sources.partner.client import PartnerApiClient, PartnerResponse
from flows.sources.partner.records import Rejection, to_arrow, validate_records
from flows.sources.partner.tables import BY_API, SALES, STATE_PREFIX

WATERMARK_KEY = f"{STATE_PREFIX}watermark.json"
DEFAULT_BACKFILL_DAYS = 365
PARTNER_TIMEZONE = ZoneInfo("America/Sao_Paulo")  # where the partner's sale days begin and end

logger = logging.getLogger(__name__)


class IngestContext:
    """What every step needs: the lake, the API client, the pseudonym key and the run's time."""

    def __init__(
        self,
        lake: Lake,
        client: PartnerApiClient,
        pseudonym_key: bytes,
        fetched_at: dt.datetime | None = None,
        today: dt.date | None = None,
        guard: TableGuard | None = None,
    ):
        self.lake = lake
        self.guard = guard or TableGuard()  # what a full table must pass to replace its copy
        self.client = client
        self.pseudonym_key = pseudonym_key
        self.fetched_at = fetched_at or dt.datetime.now(dt.UTC)
        # The partner's today: days from it on are not over and never move the watermark.
        self.today = today or partner_today(self.fetched_at)
        self.run_tag = f"{self.fetched_at:%Y%m%dT%H%M%S%fZ}"

    def __repr__(self) -> str:
        return f"IngestContext({self.lake!r}, {self.client!r}, {self.run_tag})"


@dataclass
class TableResult:
    """One response taken through to the trusted zone."""

    table: str
    day: dt.date | None
    fetched: int
    rows: int
    quarantined: int
    duplicates: int
    attempts: int
    raw_key: str
    trusted_prefix: str
    scrub: ScrubReport = field(repr=False, default_factory=ScrubReport.empty)
    override: str | None = None  # a guard violation let through by --allow-shrink


# ---- the partner's day and the watermark --------------------------------------------------


class PartnerDateError(ValueError):
    """The sale days asked for contradict each other or lie in the future."""


def partner_today(now: dt.datetime | None = None) -> dt.date:
    """The date in the partner's time zone at ``now`` (default: this moment)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(PARTNER_TIMEZONE).date()


def last_complete_day(today: dt.date) -> dt.date:
    """The last sale day that is over: yesterday, in the partner's time zone."""
    return today - dt.timedelta(days=1)


def check_dates(since: dt.date | None, until: dt.date | None, today: dt.date) -> None:
    """Refuse an ``until`` after today (no sale exists yet) and a ``since`` after ``until``
    (or after yesterday, the default ``until``), which would otherwise fetch nothing."""
    if until is not None and until > today:
        raise PartnerDateError(
            f"--until {until} is after today ({today} in {PARTNER_TIMEZONE.key}): "
            "no sale of that day exists yet"
        )
    last = until or last_complete_day(today)
    if since is not None and since > last:
        default = "" if until is not None else " (the default: the last complete day)"
        raise PartnerDateError(f"--since {since} is after --until {last}{default}: no day to fetch")


def read_watermark(lake: Lake, today: dt.date | None = None) -> dt.date | None:
    """The last fully written sale day, or None before the first run.

    A watermark is never later than the day before it was written: one that is (left by
    a run that counted a day not yet over) is read as that day, so the days it skipped
    are fetched again. Nor is it trusted past yesterday (``today`` in São Paulo, by
    default now): one written by a clock running ahead is repaired to yesterday, with a
    warning, so the days it claimed are fetched.
    """
    if not lake.exists(WATERMARK_KEY):
        return None
    state = json.loads(lake.read_bytes(WATERMARK_KEY))
    day = dt.date.fromisoformat(state["last_complete_day"])
    if "updated_at" in state:
        written = dt.datetime.fromisoformat(state["updated_at"])
        complete_then = last_complete_day(partner_today(written))
        if day > complete_then:
            logger.warning(
                "watermark %s was written on %s, before that day was over: using %s",
                day,
                written.date(),
                complete_then,
            )
            day = complete_then
    last = last_complete_day(today or partner_today())
    if day > last:
        logger.warning(
            "watermark %s is after yesterday (%s in %s): written by a clock running ahead; "
            "repaired to %s, the days after it are fetched again",
            day,
            last,
            PARTNER_TIMEZONE.key,
            last,
        )
        write_watermark(lake, last)
        day = last
    return day


def write_watermark(lake: Lake, day: dt.date) -> None:
    """Record ``day`` as the last fully written sale day."""
    now = dt.datetime.now(dt.UTC).isoformat()
    state = {"last_complete_day": day.isoformat(), "updated_at": now}
    layout.write_bytes_atomically(lake, WATERMARK_KEY, json.dumps(state).encode())


def advance(watermark: dt.date | None, day: dt.date, last_complete: dt.date) -> dt.date | None:
    """The watermark after ``day`` is written: it moves only onto the next day, never past a
    gap, and never onto a day after ``last_complete`` (its sales may still be coming)."""
    if day > last_complete:
        return watermark
    if watermark is None or day == watermark + dt.timedelta(days=1):
        return day
    return watermark


def plan_days(
    watermark: dt.date | None,
    since: dt.date | None,
    until: dt.date | None,
    today: dt.date,
    backfill_days: int = DEFAULT_BACKFILL_DAYS,
) -> list[dt.date]:
    """The sale days to fetch, oldest first.

    ``until`` defaults to yesterday (today's sales are not over); today is allowed, as a
    preview. ``since`` defaults to the day after the watermark, or on a first run to
    ``backfill_days`` before ``until``. An explicit ``since`` re-fetches (and replaces)
    days already ingested. Contradictory dates raise :class:`PartnerDateError`.
    """
    check_dates(since, until, today)
    last = until or last_complete_day(today)
    if since is not None:
        first = since
    elif watermark is not None:
        first = watermark + dt.timedelta(days=1)
    else:
        first = last - dt.timedelta(days=backfill_days - 1)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# ---- writing one response ---------------------------------------------------------------


def _write_parquet_replacing(lake: Lake, prefix: str, table: pa.Table) -> None:
    """Write ``table`` as ``prefix/part-0.parquet``, replacing whatever ``prefix`` held.

    Written to a temporary key and moved in (``flows.layout``), so a failure mid-write
    never leaves a half-written day in the trusted zone, and readers never find it empty.
    """
    layout.replace_prefix_with(lake, prefix, "part-0.parquet", lambda s: pq.write_table(table, s))


def _write_quarantine(
    lake: Lake, key: str, raw_key: str, rejected: list[Rejection], dataset: str
) -> None:
    lines = [
        json.dumps(
            {
                "dataset": dataset,
                "raw_key": raw_key,
                "position": rejection.position,
                "id": rejection.record_id,
                "reason": rejection.reason,
            },
            default=str,
        )
        for rejection in rejected
    ]
    lake.write_bytes(key, ("\n".join(lines) + "\n").encode())


def store_response(
    ctx: IngestContext, response: PartnerResponse, sale_day: dt.date | None = None
) -> TableResult:
    """Keep the raw body, validate, quarantine the invalid, scrub and replace the trusted copy."""
    table = BY_API[response.table]
    dataset = table.dataset
    stem = f"sale_date={sale_day}" if sale_day else table.lake
    raw_key = layout.partner_raw_key(table.lake, ctx.fetched_at, stem, ctx.run_tag)
    ctx.lake.write_bytes(raw_key, response.body)

    validated = validate_records(response.table, response.records, sale_day)
    quarantine_day = sale_day or ctx.fetched_at.date()
    quarantine_prefix = layout.partner_quarantine_prefix(table.lake, quarantine_day)
    if sale_day is not None:
        ctx.lake.delete_prefix(quarantine_prefix)  # a re-run replaces the day's rejections too
    if validated.rejected:
        quarantine_key = f"{quarantine_prefix}/rejected_{ctx.run_tag}.jsonl"
        _write_quarantine(ctx.lake, quarantine_key, raw_key, validated.rejected, dataset)
        logger.warning(
            "%s %s: %d invalid records quarantined in %s",
            dataset,
            quarantine_day,
            len(validated.rejected),
            quarantine_key,
        )
    if validated.duplicates:
        logger.warning("%s: %d duplicate ids dropped", dataset, validated.duplicates)

    trusted_prefix = layout.partner_trusted_prefix(table.lake, sale_day)
    override = None
    if table.partition == "snapshot":  # a full table: never replaced by too little
        previous = trusted_rows(ctx.lake, trusted_prefix)
        rejected, rows = len(validated.rejected), len(validated.records)
        override = ctx.guard.check(dataset, len(response.records), rejected, rows, previous)
        if override:
            logger.warning("%s", override)
    typed = to_arrow(response.table, validated.records)
    clean, scrub = scrub_table(dataset, typed, ctx.pseudonym_key)
    _write_parquet_replacing(ctx.lake, trusted_prefix, clean)
    return TableResult(
        table=table.lake,
        day=sale_day,
        fetched=len(response.records),
        rows=clean.num_rows,
        quarantined=len(validated.rejected),
        duplicates=validated.duplicates,
        attempts=response.attempts,
        raw_key=raw_key,
        trusted_prefix=trusted_prefix,
        scrub=scrub,
        override=override,
    )


def trusted_rows(lake: Lake, prefix: str) -> int | None:
    """Rows of the trusted table under ``prefix`` (from its Parquet footers), or None."""
    parts = [obj.key for obj in lake.list(prefix) if obj.key.endswith(".parquet")]
    parts = [key for key in parts if not key.rsplit("/", 1)[-1].startswith("_")]
    if not parts:
        return None
    return sum(
        pq.read_metadata(lake.path(key), filesystem=lake.filesystem).num_rows for key in parts
    )


def ingest_full_table(ctx: IngestContext, table: str) -> TableResult:
    """Fetch a whole table (Category or Establishment) and replace its trusted copy."""
    return store_response(ctx, ctx.client.fetch(table))


def ingest_sales_day(ctx: IngestContext, day: dt.date) -> TableResult:
    """Fetch one day of sales and replace that day's partition."""
    return store_response(ctx, ctx.client.fetch(SALES.api, sale_date=day), sale_day=day)


@dataclass
class SalesOutcome:
    """The days written, the watermark reached and the first failure, if any."""

    results: list[TableResult] = field(default_factory=list)
    watermark: dt.date | None = None
    failed_day: dt.date | None = None
    error: str | None = None


def ingest_sales_days(ctx: IngestContext, days: list[dt.date], workers: int = 4) -> SalesOutcome:
    """Ingest ``days`` (oldest first) concurrently; advance the watermark in day order.

    The watermark is written after each day whose partition is complete and whose earlier
    days are complete too. After the first failure no further day is started and the
    watermark stays before the failed day, so the next run starts again from there.
    """
    watermark = read_watermark(ctx.lake, ctx.today)
    outcome = SalesOutcome(watermark=watermark)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="partner") as pool:
        futures: list[Future[TableResult]] = [
            pool.submit(ingest_sales_day, ctx, day) for day in days
        ]
        for day, future in zip(days, futures, strict=True):
            try:
                result = future.result()
            except Exception as error:
                if outcome.failed_day is None:
                    outcome.failed_day, outcome.error = day, f"{type(error).__name__}: {error}"
                    for pending in futures:
                        pending.cancel()
                continue
            outcome.results.append(result)
            if outcome.failed_day is None:
                moved = advance(outcome.watermark, day, last_complete_day(ctx.today))
                if moved is not None and moved != outcome.watermark:
                    write_watermark(ctx.lake, moved)
                    outcome.watermark = moved
    if outcome.failed_day is None:
        _explain_watermark(outcome.watermark, days, last_complete_day(ctx.today))
    return outcome


def _explain_watermark(watermark: dt.date | None, days: list[dt.date], last: dt.date) -> None:
    """Say why the watermark did not reach the last day written, when it did not."""
    complete = [day for day in days if day <= last]
    if complete and (watermark or complete[0]) < complete[-1]:
        logger.warning(
            "watermark stays at %s: the days between it and %s were never ingested",
            watermark,
            complete[0],
        )
    if days and days[-1] > last:
        logger.info(
            "sales after %s fetched as a preview: those days are not over, so the watermark "
            "stays at %s and the next run fetches them again",
            last,
            watermark,
        )
