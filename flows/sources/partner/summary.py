"""What a partner run did, as the project's one run-summary shape (``flows.runs``).

The flow collects a :class:`PartnerRun` as it goes and publishes :func:`run_summary` of
it; this module holds the presentation, so the flow module holds none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flows.runs import RunSummary, merge_scrub_reports
from flows.sources.partner.ingest import TableResult
from flows.sources.partner.tables import CATEGORIES, ESTABLISHMENTS, SALES

FLOW = "ingest_partner"
COUNTS = ("fetched", "rows", "quarantined", "duplicates", "attempts")


@dataclass
class PartnerRun:
    """The results of a run so far, its watermark, its client's counts, its failure."""

    last_complete: dt.date  # days after it were fetched as a preview only
    results: list[TableResult] = field(default_factory=list)
    watermark: dt.date | None = None
    requests: int = 0
    retries: int = 0
    failed_day: dt.date | None = None
    error: str | None = None

    def total(self, name: str, table: str | None = None) -> int:
        """``name`` (a count of :class:`TableResult`) summed, over one lake table or all."""
        return sum(
            getattr(result, name) for result in self.results if table in (None, result.table)
        )


def _row(result: TableResult) -> dict[str, object]:
    """One table or sale day (counts only, never data values)."""
    return {
        "table": result.table,
        "day": result.day.isoformat() if result.day else "full",
        **{name: getattr(result, name) for name in COUNTS},
        "requests": "",
        "retries": "",
    }


def run_summary(run: PartnerRun) -> RunSummary:
    """The run as one line, a row per table and day plus a totals row, and its scrub counts."""
    days = [result.day for result in run.results if result.day]
    previews = sum(1 for day in days if day > run.last_complete)
    totals: dict[str, object] = {
        SALES.lake: run.total("rows", SALES.lake),
        "days": len(days),
        ESTABLISHMENTS.lake: run.total("rows", ESTABLISHMENTS.lake),
        CATEGORIES.lake: run.total("rows", CATEGORIES.lake),
        "quarantined": run.total("quarantined"),
        "duplicates": run.total("duplicates"),
        "requests": run.requests,
        "retries": run.retries,
        "watermark": run.watermark.isoformat() if run.watermark else None,
        "preview_days": previews,
        "failed_day": run.failed_day.isoformat() if run.failed_day else None,
        "overrides": [result.override for result in run.results if result.override],
    }
    line = (
        f"{totals[SALES.lake]:,} sales over {len(days)} days, "
        f"{totals[ESTABLISHMENTS.lake]:,} establishments, "
        f"{totals[CATEGORIES.lake]:,} categories; "
        f"{totals['quarantined']} quarantined, {totals['duplicates']} duplicates; "
        f"{run.requests} requests, {run.retries} retries; watermark {run.watermark}"
    )
    if previews:
        line += (
            f" ({previews} days after {run.last_complete} are a preview, fetched again next run)"
        )
    if run.failed_day:
        line += f"; FAILED at {run.failed_day}"
    overrides = [result.override for result in run.results if result.override]
    if overrides:
        line += "; GUARD OVERRIDDEN: " + "; ".join(overrides)
    totals_row = {
        "table": "TOTAL",
        "day": f"watermark {run.watermark or '-'}",
        **{name: run.total(name) for name in COUNTS},
        "requests": run.requests,
        "retries": run.retries,
    }
    return RunSummary(
        flow=FLOW,
        line=line,
        rows=[*(_row(result) for result in run.results), totals_row],
        totals=totals,
        scrub=merge_scrub_reports(result.scrub for result in run.results),
        description="Partner API ingestion: rows fetched, written, quarantined and "
        "duplicated per table and sale day; requests and retries of the run.",
    )
