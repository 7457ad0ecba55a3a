"""The partner flow and the ``ingest partner`` command, for real on Prefect's test server."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest

from flows.config import get_settings
from flows.lake import Lake
from flows.sample.partner_api import PartnerApiServer
from flows.sources.partner.client import PartnerAuthError
from flows.sources.partner.ingest import read_watermark
from tests.partner_data import DAYS, write_partner_release

KEY = "s3cr3t/Key+with=signs=="  # signs a query string must encode: both spellings are checked
D1, D2, D3 = (dt.date.fromisoformat(day) for day in DAYS)


@pytest.fixture
def api(tmp_path):
    with PartnerApiServer(write_partner_release(tmp_path / "release"), key=KEY) as server:
        yield server


# ---- contradictory dates are refused before any request and before Prefect starts --------


@pytest.fixture
def no_flow_run(monkeypatch):
    """The flow replaced by a recorder: a refused command must never reach it."""
    import flows.partner_flow

    calls: list[dict] = []
    monkeypatch.setattr(flows.partner_flow, "ingest_partner", lambda **kw: calls.append(kw))
    monkeypatch.setenv("BIGD_PARTNER_API_URL", "http://partner.test")
    get_settings.cache_clear()
    return calls


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", DAYS[2], "--until", DAYS[0]], f"--since {DAYS[2]} is after --until {DAYS[0]}"),
        (["--until", "2999-01-01"], "--until 2999-01-01 is after today"),
        (["--since", "2999-01-01"], "--since 2999-01-01 is after --until"),
    ],
)
def test_cli_refuses_contradictory_dates_before_the_flow_starts(no_flow_run, arguments, message):
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["ingest", "partner", *arguments])
    assert result.exit_code == 2, result.output
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # unwrap rich's box
    assert message in text
    assert no_flow_run == []


def test_the_flow_refuses_contradictory_dates_before_any_request(monkeypatch):
    from flows.partner_flow import ingest_partner
    from flows.sources.partner.ingest import PartnerDateError

    monkeypatch.setenv("BIGD_PARTNER_API_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
    get_settings.cache_clear()
    with pytest.raises(PartnerDateError, match=f"--since {D3} is after --until {D1}"):
        ingest_partner.fn(since=D3, until=D1)
    with pytest.raises(PartnerDateError, match="is after today"):
        ingest_partner.fn(until=D3, today=D2)


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


@pytest.mark.integration
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
    totals = summary.totals
    assert totals["watermark"] == D3.isoformat() and totals["failed_day"] is None
    assert (totals["requests"], totals["retries"]) == (2 + 2 + 3 + 1, 3)
    assert (totals["sales"], totals["days"], totals["duplicates"]) == (36, 3, 3)
    assert (totals["categories"], totals["establishments"]) == (3, 4)
    assert str(summary).startswith("36 sales over 3 days, 4 establishments, 3 categories; ")
    lake = Lake.from_url(get_settings().lake_root)
    assert read_watermark(lake) == D3

    # A scheduled run the next day fetches only what is new: nothing, here.
    again = ingest_partner(until=D3, retry_base_seconds=0.01)
    assert [row["table"] for row in again.rows] == ["categories", "establishments", "TOTAL"]
    assert again.totals["days"] == 0 and again.totals["watermark"] == D3.isoformat()

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


@pytest.mark.integration
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


@pytest.mark.integration
def test_cli_ingest_partner(prefect_harness, api, partner_settings):
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["ingest", "partner", "--since", DAYS[0], "--until", DAYS[1]])
    assert result.exit_code == 0, result.output
    assert "24 sales over 2 days" in result.output
    assert KEY not in result.output
    bad = CliRunner().invoke(app, ["ingest", "partner", "--since", "14/03/2026"])
    assert bad.exit_code != 0
