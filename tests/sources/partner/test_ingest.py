"""Partner ingestion: validate, quarantine, scrub, write, and the watermark's rules.

Tests marked ``integration`` run against the real local partner API (faults injected)
or an S3 server; the others use a stand-in client and a folder lake.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from flows.lake import Lake
from flows.sample.partner_api import PartnerApiServer
from flows.sources.partner import ingest as partner_ingest
from flows.sources.partner.client import PartnerApiError
from flows.sources.partner.ingest import (
    WATERMARK_KEY,
    IngestContext,
    PartnerDateError,
    advance,
    check_dates,
    ingest_full_table,
    ingest_sales_day,
    ingest_sales_days,
    last_complete_day,
    partner_today,
    plan_days,
    read_watermark,
    write_watermark,
)
from tests.partner_data import CNPJS, DAYS, sales, write_partner_release
from tests.sources.partner.conftest import KEY, PSEUDONYM_KEY, StubClient, make_client

D1, D2, D3 = (dt.date.fromisoformat(day) for day in DAYS)


@pytest.fixture
def stub_ctx(lake, stub):
    return IngestContext(lake, stub, PSEUDONYM_KEY)


def sale_ids(lake: Lake, day: dt.date) -> list[int]:
    key = f"trusted/partner/sales/sale_date={day}/part-0.parquet"
    return pq.read_table(lake.path(key), filesystem=lake.filesystem)["id"].to_pylist()


def day_ids(day: dt.date) -> list[int]:
    return [sale["id"] for sale in sales() if sale["saleDate"].startswith(str(day))]


# ---- validation, quarantine, duplicates --------------------------------------------------


def test_invalid_records_are_quarantined_with_reasons_and_kept_out(lake):
    rows = sales()
    rows[0] = {**rows[0], "cnpj": "99999999999999"}
    rows[2] = {**rows[2], "value": "12,50"}
    result = ingest_sales_day(IngestContext(lake, StubClient(rows), PSEUDONYM_KEY), D1)
    assert (result.fetched, result.rows, result.quarantined) == (12, 10, 2)
    assert sorted(sale_ids(lake, D1)) == [i for i in day_ids(D1) if i not in (1, 3)]
    [quarantine] = lake.list(f"quarantine/partner/sales/{D1}")
    lines = [json.loads(line) for line in lake.read_bytes(quarantine.key).splitlines()]
    assert [(line["position"], line["id"]) for line in lines] == [(0, 1), (2, 3)]
    assert "cnpj" in lines[0]["reason"] and "value" in lines[1]["reason"]
    assert all(line["raw_key"] == result.raw_key for line in lines)
    assert b"99999999999999" not in lake.read_bytes(quarantine.key)  # values stay in raw/
    assert b"99999999999999" in lake.read_bytes(result.raw_key)


def test_duplicate_ids_are_removed_and_counted(lake):
    day_rows = [sale for sale in sales() if sale["saleDate"].startswith(DAYS[1])]
    repeated = [*day_rows, *day_rows[:3]]
    result = ingest_sales_day(IngestContext(lake, StubClient(repeated), PSEUDONYM_KEY), D2)
    assert (result.fetched, result.rows, result.duplicates) == (15, 12, 3)
    ids = sale_ids(lake, D2)
    assert sorted(ids) == day_ids(D2) and len(set(ids)) == len(ids)


def test_full_tables_are_scrubbed_typed_and_replaced(stub_ctx, lake):
    ctx = stub_ctx
    first = ingest_full_table(ctx, "Establishment")
    again = ingest_full_table(ctx, "Establishment")
    assert first.trusted_prefix == again.trusted_prefix == "trusted/partner/establishments"
    [stored] = lake.list("trusted/partner/establishments")
    table = pq.read_table(lake.path(stored.key), filesystem=lake.filesystem)
    assert table.column_names == ["id", "cnpj_hash"]
    assert table["id"].to_pylist() == [1, 2, 3, 4]
    assert not any(cnpj.encode() in lake.read_bytes(stored.key) for cnpj in CNPJS)
    assert len(lake.list("raw/partner/establishments")) == 1  # same run tag: same raw object
    assert again.scrub.to_rows()[0]["action"] == "hash"


# ---- days, re-runs and the watermark -----------------------------------------------------


def test_plan_days():
    today = dt.date(2026, 11, 28)
    yesterday = dt.date(2026, 11, 27)
    first_run = plan_days(None, None, None, today)
    assert len(first_run) == 365 and first_run[-1] == yesterday
    assert plan_days(dt.date(2026, 11, 25), None, None, today) == [
        dt.date(2026, 11, 26),
        yesterday,
    ]
    assert plan_days(yesterday, None, None, today) == []
    assert plan_days(yesterday, D1, D2, today) == [D1, D2]  # explicit since re-fetches
    assert plan_days(None, None, D2, today, backfill_days=2) == [D1, D2]
    assert plan_days(None, yesterday, today, today) == [yesterday, today]  # today: a preview


def test_watermark_moves_only_onto_the_next_complete_day():
    assert advance(None, D2, last_complete=D3) == D2
    assert advance(D1, D2, last_complete=D3) == D2
    assert advance(D1, D3, last_complete=D3) == D1  # D2 missing: moving on would skip it
    assert advance(D3, D1, last_complete=D3) == D3  # a re-run of an old day never moves it back
    assert advance(D2, D3, last_complete=D2) == D2  # D3 is not over: its sales may still come
    assert advance(None, D3, last_complete=D2) is None


# ---- the partner's day: the watermark never passes the last complete day -----------------


def test_today_is_the_partners_day_not_utcs():
    late_evening = dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC)  # 22:30 on Dec 1 in São Paulo
    assert partner_today(late_evening) == dt.date(2026, 12, 1)
    assert partner_today(dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)) == dt.date(2026, 12, 2)
    assert last_complete_day(dt.date(2026, 12, 1)) == dt.date(2026, 11, 30)
    ctx = IngestContext(None, None, PSEUDONYM_KEY, fetched_at=late_evening)
    assert ctx.today == dt.date(2026, 12, 1)


def test_a_future_until_never_moves_the_watermark_past_yesterday(lake, stub):
    # Real dates and no injected "today": this is what `ingest partner --until` did.
    today = dt.datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    outcome = ingest_sales_days(
        IngestContext(lake, stub, PSEUDONYM_KEY), [yesterday, today, tomorrow]
    )
    assert outcome.failed_day is None and len(outcome.results) == 3
    assert outcome.watermark == yesterday
    assert read_watermark(lake) == yesterday


def test_until_today_is_a_preview_the_next_run_fetches_again(lake, stub):
    ctx = IngestContext(lake, stub, PSEUDONYM_KEY, today=D3)
    days = plan_days(None, D1, D3, today=D3)
    outcome = ingest_sales_days(ctx, days)
    assert [result.day for result in outcome.results] == [D1, D2, D3]
    assert sorted(sale_ids(lake, D3)) == day_ids(D3)  # today's sales so far, for a preview
    assert outcome.watermark == read_watermark(lake) == D2
    # The next day's scheduled run fetches the previewed day again, whole this time.
    assert plan_days(read_watermark(lake), None, None, today=D3 + dt.timedelta(days=1)) == [D3]


def test_a_watermark_written_before_its_day_was_over_is_read_back_to_the_day_before(lake):
    # What an earlier `ingest partner --until 2026-12-31` run on 2026-11-10 left behind.
    state = {"last_complete_day": "2026-12-31", "updated_at": "2026-11-10T12:00:00+00:00"}
    lake.write_bytes(WATERMARK_KEY, json.dumps(state).encode())
    assert read_watermark(lake) == dt.date(2026, 11, 9)
    assert plan_days(read_watermark(lake), None, None, today=dt.date(2026, 11, 12)) == [
        dt.date(2026, 11, 10),
        dt.date(2026, 11, 11),
    ]


def test_a_watermark_is_read_back_as_written(lake, tmp_path):
    write_watermark(lake, D2)
    assert read_watermark(lake) == D2
    assert read_watermark(Lake.from_url(str(tmp_path / "empty"))) is None


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (D3, D1, f"--since {D3} is after --until {D1}"),
        (None, D3 + dt.timedelta(days=1), f"--until {D3 + dt.timedelta(days=1)} is after today"),
        (D3, None, f"--since {D3} is after --until {D2} (the default: the last complete day)"),
        (D3 + dt.timedelta(days=5), D3 + dt.timedelta(days=9), "is after today"),
    ],
)
def test_contradictory_or_future_dates_are_refused(since, until, message):
    with pytest.raises(PartnerDateError, match=re.escape(message)):
        check_dates(since, until, today=D3)
    with pytest.raises(PartnerDateError):
        plan_days(None, since, until, today=D3)


@pytest.mark.integration
def test_a_rerun_of_a_day_replaces_exactly_that_day(tmp_path, lake, sleep):
    with (
        PartnerApiServer(write_partner_release(tmp_path / "v1"), key=KEY) as api,
        make_client(api.url, sleep) as client,
    ):
        ingest_sales_days(IngestContext(lake, client, PSEUDONYM_KEY), [D1, D2, D3])
    before_d1 = lake.read_bytes(f"trusted/partner/sales/sale_date={D1}/part-0.parquet")
    corrected = [sale for sale in sales() if sale["id"] % 2 == 0] + [
        {**sales()[13], "id": 999, "amount": 99}
    ]
    with (
        PartnerApiServer(write_partner_release(tmp_path / "v2", corrected), key=KEY) as api,
        make_client(api.url, sleep) as client,
    ):
        ingest_sales_days(IngestContext(lake, client, PSEUDONYM_KEY), [D2])
    expected = sorted([i for i in day_ids(D2) if i % 2 == 0] + [999])
    assert sorted(sale_ids(lake, D2)) == expected
    assert lake.list(f"trusted/partner/sales/sale_date={D2}")[0].key.endswith("part-0.parquet")
    assert len(lake.list(f"trusted/partner/sales/sale_date={D2}")) == 1
    assert lake.read_bytes(f"trusted/partner/sales/sale_date={D1}/part-0.parquet") == before_d1
    assert sorted(sale_ids(lake, D3)) == day_ids(D3)
    partitioning = ds.partitioning(pa.schema([("sale_date", pa.date32())]), flavor="hive")
    everything = ds.dataset(lake.path("trusted/partner/sales"), partitioning=partitioning)
    assert everything.count_rows() == 12 + len(expected) + 12


def test_watermark_advances_only_after_a_day_is_fully_written(stub_ctx, lake, monkeypatch):
    ctx = stub_ctx
    original_write = partner_ingest.write_watermark
    written: list[dt.date] = []

    def checked_write(target: Lake, day: dt.date) -> None:
        assert target.exists(f"trusted/partner/sales/sale_date={day}/part-0.parquet")
        written.append(day)
        original_write(target, day)

    original_replace = partner_ingest._write_parquet_replacing

    def failing_replace(target: Lake, prefix: str, table) -> None:
        if prefix.endswith(f"sale_date={D2}"):
            raise OSError("disk full")
        original_replace(target, prefix, table)

    monkeypatch.setattr(partner_ingest, "write_watermark", checked_write)
    monkeypatch.setattr(partner_ingest, "_write_parquet_replacing", failing_replace)
    outcome = ingest_sales_days(ctx, [D1, D2, D3], workers=1)
    assert outcome.failed_day == D2 and "disk full" in outcome.error
    assert written == [D1] and read_watermark(lake) == D1
    assert not lake.exists(f"trusted/partner/sales/sale_date={D2}")
    # The next scheduled run starts again at the failed day and then catches up.
    monkeypatch.setattr(partner_ingest, "_write_parquet_replacing", original_replace)
    next_days = plan_days(read_watermark(lake), None, D3, today=D3)
    assert next_days == [D2, D3]
    assert ingest_sales_days(ctx, next_days).watermark == D3
    assert written == [D1, D2, D3]


def test_a_day_that_keeps_failing_holds_the_watermark_before_it(lake):
    failing = StubClient(fail={D2: PartnerApiError("GET ...saleDate=2026-03-15 failed: HTTP 503")})
    outcome = ingest_sales_days(
        IngestContext(lake, failing, PSEUDONYM_KEY), [D1, D2, D3], workers=2
    )
    assert outcome.failed_day == D2 and "HTTP 503" in outcome.error
    assert outcome.watermark == read_watermark(lake) == D1
    assert not lake.exists(f"trusted/partner/sales/sale_date={D2}")


@pytest.mark.integration
def test_a_day_the_server_keeps_refusing_holds_the_watermark_and_hides_the_key(api, ctx, lake):
    api.inject("status", table="Sale", sale_date=D2, status=503, times=10)
    outcome = ingest_sales_days(ctx, [D1, D2, D3], workers=2)
    assert outcome.failed_day == D2 and "HTTP 503" in outcome.error
    assert read_watermark(lake) == D1
    assert KEY not in outcome.error


@pytest.mark.integration
def test_days_are_written_and_replaced_on_an_s3_lake(api, client, s3_bucket):
    endpoint, bucket = s3_bucket
    lake = Lake.from_url(f"s3://{bucket}/lake", endpoint)
    ctx = IngestContext(lake, client, PSEUDONYM_KEY)
    assert ingest_sales_days(ctx, [D1, D2]).watermark == D2
    assert ingest_sales_days(ctx, [D2]).watermark == D2
    assert sorted(sale_ids(lake, D2)) == day_ids(D2)
    assert [obj.key for obj in lake.list("trusted/partner/sales")] == [
        f"trusted/partner/sales/sale_date={D1}/part-0.parquet",
        f"trusted/partner/sales/sale_date={D2}/part-0.parquet",
    ]
    assert lake.list("state/partner/staging") == []
