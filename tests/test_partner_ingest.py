"""Partner ingestion against the real local partner API, with faults injected into it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pydantic import SecretStr

from flows.config import SettingsError, get_settings
from flows.lake import Lake
from flows.partner_api import PartnerApiServer
from flows.sources import partner_ingest
from flows.sources.partner_api import (
    PartnerApiClient,
    PartnerApiError,
    PartnerAuthError,
    RetryPolicy,
    SecretRedactor,
    resolve_key,
)
from flows.sources.partner_ingest import (
    IngestContext,
    advance,
    ingest_full_table,
    ingest_sales_day,
    ingest_sales_days,
    plan_days,
    read_watermark,
)
from flows.sources.partner_records import validate_records
from tests.partner_data import CNPJS, DAYS, sales, write_partner_release

# Characters a query string must percent-encode, so redaction must catch the encoded form too.
KEY = "s3cr3t/Key+with=signs=="
D1, D2, D3 = (dt.date.fromisoformat(day) for day in DAYS)

pytestmark = pytest.mark.integration


class RecordingSleep:
    """Stands in for time.sleep: records what the client asked to wait, waits nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def api(tmp_path):
    with PartnerApiServer(write_partner_release(tmp_path / "release"), key=KEY) as server:
        yield server


@pytest.fixture
def sleep():
    return RecordingSleep()


def make_client(url: str, sleep, key: str = KEY, attempts: int = 4, **options):
    retry = RetryPolicy(attempts=attempts, base_delay=0.2, max_delay=1.0, max_retry_after=60)
    return PartnerApiClient(url, key, retry=retry, sleep=sleep, **options)


@pytest.fixture
def client(api, sleep):
    with make_client(api.url, sleep, timeout=5) as partner:
        yield partner


@pytest.fixture
def lake(tmp_path):
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.fixture
def ctx(lake, client):
    return IngestContext(lake, client, b"k" * 32)


def sale_ids(lake: Lake, day: dt.date) -> list[int]:
    key = f"trusted/partner/sales/sale_date={day}/part-0.parquet"
    return pq.read_table(lake.path(key), filesystem=lake.filesystem)["id"].to_pylist()


def day_ids(day: dt.date) -> list[int]:
    return [sale["id"] for sale in sales() if sale["saleDate"].startswith(str(day))]


# ---- the client: retries, timeouts, refusals ---------------------------------------------


def test_500_then_success(api, client, sleep):
    api.inject("status", table="Category", status=500)
    response = client.fetch("Category")
    assert [row["name"] for row in response.records] == ["Cerveja", "Vinho", "Feijão"]
    assert response.attempts == 2
    assert (client.stats.requests, client.stats.retries) == (2, 1)
    assert [r.status for r in api.requests] == [500, 200]
    assert len(sleep.waits) == 1 and 0.1 <= sleep.waits[0] <= 0.2  # backoff 0.2 s, half jitter


def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(base_delay=1.0, max_delay=6.0)
    for retry_number, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0), (9, 6.0)]:
        waits = {policy.backoff(retry_number) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered, not a fixed delay


def test_429_honours_retry_after(api, client, sleep):
    api.inject("throttle", table="Sale", retry_after=7)
    response = client.fetch("Sale", sale_date=D1)
    assert [row["id"] for row in response.records] == day_ids(D1)
    assert sleep.waits == [7.0]
    assert client.stats.retries == 1


def test_429_asking_for_too_long_a_wait_fails_instead_of_hanging(api, client, sleep):
    api.inject("throttle", retry_after=3600)
    with pytest.raises(PartnerApiError, match="HTTP 429 asks to wait 3600 s"):
        client.fetch("Category")
    assert sleep.waits == []


def test_response_slower_than_the_timeout_is_retried(api, sleep):
    slow = api.inject("delay", table="Category", seconds=3.0)
    with make_client(api.url, sleep, timeout=0.3) as client:
        assert len(client.fetch("Category").records) == 3
        assert (client.stats.requests, client.stats.retries) == (2, 1)
    assert slow.used == 1


def test_always_slow_fails_after_the_attempts(api, sleep):
    api.inject("delay", table="Category", seconds=3.0, times=2)
    with (
        make_client(api.url, sleep, timeout=0.3, attempts=2) as client,
        pytest.raises(PartnerApiError, match=r"failed after 2 attempts.*ReadTimeout") as error,
    ):
        client.fetch("Category")
    assert KEY not in str(error.value)
    assert error.value.__cause__ is None and error.value.__context__ is None


def test_truncated_json_is_retried(api, client):
    api.inject("truncate", table="Establishment")
    response = client.fetch("Establishment")
    assert [row["cnpj"] for row in response.records] == CNPJS
    assert client.stats.retries == 1


def test_persistently_truncated_json_fails_clearly(api, sleep):
    api.inject("truncate", table="Establishment", times=3)
    with (
        make_client(api.url, sleep, attempts=3) as client,
        pytest.raises(PartnerApiError, match="invalid JSON") as error,
    ):
        client.fetch("Establishment")
    assert len(api.requests) == 3
    assert KEY not in str(error.value)


@pytest.mark.parametrize("wrong_key", ["wrong-key", "also/wrong+key=="])
def test_wrong_key_fails_at_once_without_a_retry_storm(api, sleep, lake, wrong_key):
    with make_client(api.url, sleep, key=wrong_key) as client:
        with pytest.raises(PartnerAuthError) as error:
            client.fetch("Category")
        message = str(error.value)
        assert "HTTP 401" in message and "BIGD_PARTNER_API_KEY" in message
        assert "code=***" in message
        assert wrong_key not in message and KEY not in message
        assert error.value.__context__ is None
        with pytest.raises(PartnerAuthError):
            client.fetch("Establishment")  # the same client does not ask again
    assert len(api.requests) == 1
    # Thirty days of sales on four workers: the first refusal stops them all.
    days = [D1 + dt.timedelta(days=n) for n in range(30)]
    with make_client(api.url, sleep, key=wrong_key, max_concurrency=4) as client:
        outcome = ingest_sales_days(IngestContext(lake, client, b"k" * 32), days, workers=4)
    assert outcome.failed_day == D1 and "refused the key" in outcome.error
    assert wrong_key not in outcome.error
    assert outcome.watermark is None and read_watermark(lake) is None
    assert len(api.requests) <= 1 + 4  # at most the requests already in flight
    assert {r.status for r in api.requests} == {401}
    assert sleep.waits == []


def test_unknown_table_is_refused_with_the_partner_message_and_not_retried(api, client, sleep):
    with pytest.raises(PartnerApiError) as error:
        client.fetch("Sales")
    assert not isinstance(error.value, PartnerAuthError)
    assert "HTTP 400: Please inform a valid source table." in str(error.value)
    assert str(error.value).endswith("The informed source table was: Sales")
    assert len(api.requests) == 1 and sleep.waits == []


def test_connection_refused_is_retried_then_fails(sleep):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        make_client(f"http://127.0.0.1:{port}", sleep, attempts=3) as client,
        pytest.raises(PartnerApiError, match=r"failed after 3 attempts.*ConnectError"),
    ):
        client.fetch("Category")
    assert len(sleep.waits) == 2 and sleep.waits[1] > sleep.waits[0] / 2


def test_key_comes_from_settings_and_is_never_in_reprs(monkeypatch, api):
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
    get_settings.cache_clear()
    key = resolve_key(get_settings())
    assert isinstance(key, SecretStr) and key.get_secret_value() == KEY
    with PartnerApiClient(api.url, key) as client:
        assert KEY not in repr(client) + repr(client.__dict__)


def test_redactor_cleans_messages_arguments_and_tracebacks():
    redactor = SecretRedactor()
    redactor.add("hunter2")
    try:
        raise ValueError("bad url http://h/?code=hunter2")
    except ValueError:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "GET %s", ("x?code=hunter2",), exc_info=True
        )
        record.exc_info = __import__("sys").exc_info()
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert "hunter2" not in text
    assert "GET x?code=***" in text and "bad url http://h/?code=***" in text


# ---- validation, quarantine, duplicates --------------------------------------------------


def test_models_are_strict_and_reasons_name_fields_not_values():
    good = sales()[0]
    bad = [
        {**good, "id": "1"},
        {**good, "cnpj": "11222333000100"},
        {**good, "idCategory": 2},
        {**good, "saleDate": "2026-02-30T10:00:00"},
        {**good, "value": -1.0},
        {**good, "amount": 1.5},
        {**good, "category": {**good["category"], "isActive": "true"}},
        "not a record",
    ]
    validated = validate_records("Sale", [good, *bad, good])
    assert [r.id for r in validated.records] == [good["id"]]
    assert validated.duplicates == 1
    assert [r.position for r in validated.rejected] == list(range(1, 9))
    reasons = [r.reason for r in validated.rejected]
    assert reasons[0].startswith("id: ") and reasons[1].startswith("cnpj: ")
    assert "category.id differs from idCategory" in reasons[2]
    assert reasons[3].startswith("saleDate: ") and reasons[4].startswith("value: ")
    assert "11222333000100" not in " ".join(reasons) and "2026-02-30" not in " ".join(reasons)
    # Fetched for another day: it would sit in two partitions, so a re-run could not replace it.
    [wrong_day] = validate_records("Sale", [good], sale_day=D2).rejected
    assert wrong_day.reason == f"saleDate: falls on {D1}, not {D2}"


def test_invalid_records_are_quarantined_with_reasons_and_kept_out(tmp_path, lake, sleep):
    rows = sales()
    rows[0] = {**rows[0], "cnpj": "99999999999999"}
    rows[2] = {**rows[2], "value": "12,50"}
    with (
        PartnerApiServer(write_partner_release(tmp_path / "bad", rows), key=KEY) as api,
        make_client(api.url, sleep) as client,
    ):
        result = ingest_sales_day(IngestContext(lake, client, b"k" * 32), D1)
    assert (result.fetched, result.rows, result.quarantined) == (12, 10, 2)
    assert sorted(sale_ids(lake, D1)) == [i for i in day_ids(D1) if i not in (1, 3)]
    [quarantine] = lake.list(f"quarantine/partner/sales/{D1}")
    lines = [json.loads(line) for line in lake.read_bytes(quarantine.key).splitlines()]
    assert [(line["position"], line["id"]) for line in lines] == [(0, 1), (2, 3)]
    assert "cnpj" in lines[0]["reason"] and "value" in lines[1]["reason"]
    assert all(line["raw_key"] == result.raw_key for line in lines)
    assert b"99999999999999" not in lake.read_bytes(quarantine.key)  # values stay in raw/
    assert b"99999999999999" in lake.read_bytes(result.raw_key)


def test_duplicate_ids_are_removed_and_counted(api, ctx, lake):
    api.inject("duplicate", table="Sale", sale_date=D2)
    result = ingest_sales_day(ctx, D2)
    assert (result.fetched, result.rows, result.duplicates) == (15, 12, 3)
    ids = sale_ids(lake, D2)
    assert sorted(ids) == day_ids(D2) and len(set(ids)) == len(ids)


def test_full_tables_are_scrubbed_typed_and_replaced(ctx, lake):
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


def test_watermark_moves_only_onto_the_next_day():
    assert advance(None, D2) == D2
    assert advance(D1, D2) == D2
    assert advance(D1, D3) == D1  # D2 missing: moving on would skip it for good
    assert advance(D3, D1) == D3  # a re-run of an old day never moves it back


def test_a_rerun_of_a_day_replaces_exactly_that_day(tmp_path, lake, sleep):
    with (
        PartnerApiServer(write_partner_release(tmp_path / "v1"), key=KEY) as api,
        make_client(api.url, sleep) as client,
    ):
        ingest_sales_days(IngestContext(lake, client, b"k" * 32), [D1, D2, D3])
    before_d1 = lake.read_bytes(f"trusted/partner/sales/sale_date={D1}/part-0.parquet")
    corrected = [sale for sale in sales() if sale["id"] % 2 == 0] + [
        {**sales()[13], "id": 999, "amount": 99}
    ]
    with (
        PartnerApiServer(write_partner_release(tmp_path / "v2", corrected), key=KEY) as api,
        make_client(api.url, sleep) as client,
    ):
        ingest_sales_days(IngestContext(lake, client, b"k" * 32), [D2])
    expected = sorted([i for i in day_ids(D2) if i % 2 == 0] + [999])
    assert sorted(sale_ids(lake, D2)) == expected
    assert lake.list(f"trusted/partner/sales/sale_date={D2}")[0].key.endswith("part-0.parquet")
    assert len(lake.list(f"trusted/partner/sales/sale_date={D2}")) == 1
    assert lake.read_bytes(f"trusted/partner/sales/sale_date={D1}/part-0.parquet") == before_d1
    assert sorted(sale_ids(lake, D3)) == day_ids(D3)
    partitioning = ds.partitioning(pa.schema([("sale_date", pa.date32())]), flavor="hive")
    everything = ds.dataset(lake.path("trusted/partner/sales"), partitioning=partitioning)
    assert everything.count_rows() == 12 + len(expected) + 12


def test_watermark_advances_only_after_a_day_is_fully_written(api, ctx, lake, monkeypatch):
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


def test_a_day_that_keeps_failing_holds_the_watermark_before_it(api, ctx, lake):
    api.inject("status", table="Sale", sale_date=D2, status=503, times=10)
    outcome = ingest_sales_days(ctx, [D1, D2, D3], workers=2)
    assert outcome.failed_day == D2 and "HTTP 503" in outcome.error
    assert read_watermark(lake) == D1
    assert KEY not in outcome.error


# ---- the flow, for real, on the Prefect test server ----------------------------------------


class CollectingHandler(logging.Handler):
    """Keeps every record, formatted with its traceback, as the text a log file would hold."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs():
    """Every logger that matters at DEBUG, collected; restored afterwards."""
    handler = CollectingHandler()
    names = ["", "prefect", "prefect.flow_runs", "prefect.task_runs", "httpx", "httpcore", "flows"]
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in names]
    for target, _ in saved:
        target.setLevel(logging.DEBUG)
        target.addHandler(handler)
    yield handler
    for target, level in saved:
        target.removeHandler(handler)
        target.setLevel(level)


@pytest.fixture
def partner_settings(api, monkeypatch):
    monkeypatch.setenv("BIGD_PARTNER_API_URL", api.url)
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
    get_settings.cache_clear()


def spellings_of_the_key() -> list[str]:
    from urllib.parse import quote, quote_plus

    return [KEY, quote(KEY, safe=""), quote_plus(KEY), "s3cr3t"]


def test_flow_runs_for_real_and_never_leaks_the_key(
    prefect_harness, api, partner_settings, all_logs, capfd
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.partner_flow import ingest_partner

    api.inject("throttle", table="Category", retry_after="0.05")
    api.inject("truncate", table="Establishment")
    api.inject("status", table="Sale", sale_date=D2, status=502)
    api.inject("duplicate", table="Sale", sale_date=D3)
    state = ingest_partner(since=D1, until=D3, retry_base_seconds=0.01, return_state=True)
    summary = state.result()
    assert summary.watermark == D3
    assert (summary.requests, summary.retries) == (2 + 2 + 3 + 1, 3)
    assert summary.total("rows", "sales") == 36 and summary.total("duplicates") == 3
    assert summary.total("rows", "categories") == 3
    lake = Lake.from_url(get_settings().lake_root)
    assert read_watermark(lake) == D3

    # A scheduled run the next day fetches only what is new: nothing, here.
    again = ingest_partner(until=D3, retry_base_seconds=0.01)
    assert [result.table for result in again.results] == ["categories", "establishments"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    by_key = {artifact.key: artifact for artifact in artifacts}
    assert {"ingest-partner", "ingest-partner-scrub"} <= set(by_key)
    summary_rows = by_key["ingest-partner"].data
    summary_rows = json.loads(summary_rows) if isinstance(summary_rows, str) else summary_rows
    assert summary_rows[-1]["requests"] == 8 and summary_rows[-1]["retries"] == 3

    captured = capfd.readouterr()
    everything = "\n".join(
        [*all_logs.lines, captured.out, captured.err, *(a.model_dump_json() for a in artifacts)]
    )
    assert "code=***" in everything  # httpx's request lines were captured, redacted
    assert any(line.startswith("httpcore") for line in all_logs.lines)
    for spelling in spellings_of_the_key():
        assert spelling not in everything
        for stored in lake.list():
            assert spelling.encode() not in lake.read_bytes(stored.key)


def test_flow_with_a_wrong_key_fails_fast_and_clearly(
    prefect_harness, api, monkeypatch, all_logs, capfd
):
    from flows.partner_flow import ingest_partner

    monkeypatch.setenv("BIGD_PARTNER_API_URL", api.url)
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY + "-old")
    get_settings.cache_clear()
    state = ingest_partner(since=D1, until=D3, return_state=True)
    assert state.is_failed()
    with pytest.raises(PartnerAuthError, match="refused the key") as error:
        state.result()
    assert len(api.requests) == 1
    captured = capfd.readouterr()
    text = "\n".join([*all_logs.lines, captured.out, captured.err, str(error.value)])
    assert "refused the key" in text
    for spelling in spellings_of_the_key():
        assert spelling not in text


def test_cli_ingest_partner(prefect_harness, api, partner_settings):
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["ingest", "partner", "--since", DAYS[0], "--until", DAYS[1]])
    assert result.exit_code == 0, result.output
    assert "24 sales over 2 days" in result.output
    assert KEY not in result.output
    bad = CliRunner().invoke(app, ["ingest", "partner", "--since", "14/03/2026"])
    assert bad.exit_code != 0


def test_key_from_a_prefect_secret_block(prefect_harness):
    from prefect.blocks.system import Secret

    from flows.sources.partner_api import SECRET_BLOCK

    with pytest.raises(SettingsError, match="BIGD_PARTNER_API_KEY: not set"):
        resolve_key(get_settings())
    Secret(value=KEY).save(SECRET_BLOCK, overwrite=True)
    try:
        assert resolve_key(get_settings()).get_secret_value() == KEY
    finally:
        Secret.delete(SECRET_BLOCK)


def test_days_are_written_and_replaced_on_an_s3_lake(api, client, s3_bucket):
    endpoint, bucket = s3_bucket
    lake = Lake.from_url(f"s3://{bucket}/lake", endpoint)
    ctx = IngestContext(lake, client, b"k" * 32)
    assert ingest_sales_days(ctx, [D1, D2]).watermark == D2
    assert ingest_sales_days(ctx, [D2]).watermark == D2
    assert sorted(sale_ids(lake, D2)) == day_ids(D2)
    assert [obj.key for obj in lake.list("trusted/partner/sales")] == [
        f"trusted/partner/sales/sale_date={D1}/part-0.parquet",
        f"trusted/partner/sales/sale_date={D2}/part-0.parquet",
    ]
    assert lake.list("state/partner/staging") == []
