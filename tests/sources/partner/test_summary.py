"""A partner run as the one run-summary shape: its line, rows, totals and scrub counts."""

from __future__ import annotations

import datetime as dt

from flows.runs import table_rows
from flows.scrub import ScrubReport
from flows.sources.partner.ingest import TableResult
from flows.sources.partner.summary import PartnerRun, run_summary

D1, D2, D3 = dt.date(2026, 3, 14), dt.date(2026, 3, 15), dt.date(2026, 3, 16)


def result(table: str, day: dt.date | None, rows: int, hashed: int = 0, **counts) -> TableResult:
    scrub = ScrubReport.empty()
    if hashed:
        scrub.add(f"partner.{table}", "cnpj", "-", "hash", hashed)
    values = {"fetched": rows, "quarantined": 0, "duplicates": 0, "attempts": 1, **counts}
    return TableResult(
        table, day, rows=rows, raw_key="r", trusted_prefix="t", scrub=scrub, **values
    )


def a_run(**options) -> PartnerRun:
    run = PartnerRun(last_complete=D2, requests=6, retries=1, watermark=D2, **options)
    run.results = [
        result("categories", None, 3),
        result("establishments", None, 4, hashed=4),
        result("sales", D1, 12, hashed=12, quarantined=2, fetched=14),
        result("sales", D2, 10, hashed=10, duplicates=3, fetched=13, attempts=2),
    ]
    return run


def test_one_line_rows_with_one_set_of_columns_and_totals():
    summary = run_summary(a_run())
    assert summary.flow == "ingest_partner" and summary.artifact_key == "ingest-partner"
    assert str(summary) == (
        "22 sales over 2 days, 4 establishments, 3 categories; 2 quarantined, 3 duplicates; "
        "6 requests, 1 retries; watermark 2026-03-15"
    )
    assert [(row["table"], row["day"]) for row in summary.rows] == [
        ("categories", "full"),
        ("establishments", "full"),
        ("sales", "2026-03-14"),
        ("sales", "2026-03-15"),
        ("TOTAL", "watermark 2026-03-15"),
    ]
    assert table_rows(summary.rows) == summary.rows  # already one set of columns
    assert summary.rows[-1] | {"table": "", "day": ""} == {
        "table": "",
        "day": "",
        "fetched": 34,
        "rows": 29,
        "quarantined": 2,
        "duplicates": 3,
        "attempts": 5,
        "requests": 6,
        "retries": 1,
    }
    assert summary.totals["sales"] == 22 and summary.totals["watermark"] == "2026-03-15"


def test_the_scrub_reports_are_merged():
    scrub = run_summary(a_run()).scrub
    assert scrub.count(action="hash") == 26
    assert scrub.count(dataset="partner.sales") == 22


def test_previews_and_failures_are_said_in_the_line():
    run = a_run(failed_day=D3, error="boom")
    run.results.append(result("sales", D3, 5))
    line = str(run_summary(run))
    assert "(1 days after 2026-03-15 are a preview, fetched again next run)" in line
    assert line.endswith("; FAILED at 2026-03-16")
    assert run_summary(run).totals["failed_day"] == "2026-03-16"
