"""The partner API client: retry decisions, refusals, counts and a key kept out of all text.

The first tests drive the client through ``httpx.MockTransport`` (no server, no sleeping);
those marked ``integration`` talk to the real local partner API with faults injected.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import sys
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr

from flows.config import SettingsError, get_settings
from flows.resources import PARTNER_KEY_BLOCK, Resources
from flows.sources.partner.client import (
    PartnerApiClient,
    PartnerApiError,
    PartnerAuthError,
    SecretRedactor,
)
from flows.sources.partner.ingest import IngestContext, ingest_sales_days, read_watermark
from tests.partner_data import CATEGORIES, CNPJS, DAYS, sales
from tests.sources.partner.conftest import KEY, PSEUDONYM_KEY, make_client

D1 = dt.date.fromisoformat(DAYS[0])
SPELLINGS = (KEY, quote(KEY, safe=""), quote_plus(KEY))


def day_ids(day: dt.date) -> list[int]:
    return [sale["id"] for sale in sales() if sale["saleDate"].startswith(str(day))]


Reply = httpx.Response | Exception


class Script:
    """A MockTransport handler answering from a script, one reply per request; the last
    reply repeats. Records each request's query (the key included: it is the server)."""

    def __init__(self, *replies: Reply | Callable[[httpx.Request], Reply]):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, Exception):
            raise reply
        return reply


def ok(rows: object = CATEGORIES) -> httpx.Response:
    return httpx.Response(200, json=rows)


def mock_client(script: Script, sleep, **options) -> PartnerApiClient:
    return make_client(
        "http://partner.test", sleep, transport=httpx.MockTransport(script), **options
    )


# ---- retry decisions, without a server ------------------------------------------------------


def test_a_5xx_is_retried_and_counted(sleep):
    script = Script(httpx.Response(500, text="boom"), ok())
    with mock_client(script, sleep) as client:
        response = client.fetch("Category")
    assert response.records == CATEGORIES and response.attempts == 2
    assert (client.stats.requests, client.stats.retries, client.stats.failures) == (2, 1, 0)
    assert len(sleep.waits) == 1 and 0 <= sleep.waits[0] <= 0.2  # backoff of at most base_delay
    assert script.requests[0].url.params["code"] == KEY  # the key travels as ?code=


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_every_status_of_the_shared_rule_is_retried(sleep, status):
    with mock_client(Script(httpx.Response(status), ok()), sleep) as client:
        assert client.fetch("Category").attempts == 2


def test_retry_after_is_honoured(sleep):
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    with mock_client(script, sleep) as client:
        client.fetch("Category")
    assert sleep.waits == [7.0]  # what the server asked, not the backoff (max 1 s here)


def test_retry_after_beyond_the_cap_fails_at_once(sleep):
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}))
    with mock_client(script, sleep) as client, pytest.raises(PartnerApiError) as error:
        client.fetch("Category")
    assert "HTTP 429 asks to wait 3600 s, more than the 60 s limit" in str(error.value)
    assert sleep.waits == [] and len(script.requests) == 1


def test_backoff_is_exponential_jittered_and_capped(sleep):
    script = Script(httpx.Response(503))
    with mock_client(script, sleep, attempts=6) as client, pytest.raises(PartnerApiError):
        client.fetch("Category")
    ceilings = [0.2, 0.4, 0.8, 1.0, 1.0]  # base_delay 0.2 doubling, max_delay 1.0
    assert len(sleep.waits) == len(ceilings)
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(sleep.waits, ceilings, strict=True))
    assert (client.stats.requests, client.stats.retries, client.stats.failures) == (6, 5, 1)


def test_connection_errors_are_retried_then_fail_clearly_without_the_key(sleep):
    def refuse(request: httpx.Request) -> Exception:
        return httpx.ConnectError(f"cannot reach {request.url}")

    script = Script(refuse)
    with mock_client(script, sleep, attempts=3) as client, pytest.raises(PartnerApiError) as error:
        client.fetch("Sale", sale_date=D1)
    message = str(error.value)
    assert "failed after 3 attempts; last error: ConnectError" in message
    assert "code=***" in message and f"saleDate={D1}" in message
    assert not any(spelling in message for spelling in SPELLINGS)
    assert error.value.__cause__ is None and error.value.__context__ is None
    assert len(script.requests) == 3 and len(sleep.waits) == 2


def test_an_http_error_the_shared_rule_calls_permanent_fails_at_once(sleep):
    def loop(request: httpx.Request) -> Exception:
        return httpx.TooManyRedirects(f"redirect loop at {request.url}", request=request)

    script = Script(loop)
    with mock_client(script, sleep) as client, pytest.raises(PartnerApiError) as error:
        client.fetch("Category")
    assert "TooManyRedirects: redirect loop" in str(error.value)
    assert not any(spelling in str(error.value) for spelling in SPELLINGS)
    assert len(script.requests) == 1 and sleep.waits == []


def test_a_body_that_is_not_json_is_retried(sleep):
    script = Script(httpx.Response(200, content=b'[{"id": 1, "na'), ok())
    with mock_client(script, sleep) as client:
        assert client.fetch("Category").attempts == 2


def test_a_body_that_is_never_json_fails_naming_the_problem(sleep):
    script = Script(httpx.Response(200, content=b"<html>"))
    with mock_client(script, sleep, attempts=3) as client, pytest.raises(PartnerApiError) as error:
        client.fetch("Category")
    assert "failed after 3 attempts; last error: invalid JSON" in str(error.value)


def test_json_that_is_not_an_array_fails_at_once(sleep):
    script = Script(ok({"error": "nope"}))
    with mock_client(script, sleep) as client, pytest.raises(PartnerApiError, match="got dict"):
        client.fetch("Category")
    assert len(script.requests) == 1


def test_a_400_is_not_retried_and_keeps_the_partner_message(sleep):
    script = Script(httpx.Response(400, text="Invalid CNPJ. Provided CNPJ was: x"))
    with mock_client(script, sleep) as client, pytest.raises(PartnerApiError) as error:
        client.fetch("Sale", sale_cnpj="x")
    assert not isinstance(error.value, PartnerAuthError)
    assert str(error.value).endswith("HTTP 400: Invalid CNPJ. Provided CNPJ was: x")
    assert len(script.requests) == 1 and sleep.waits == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_fails_at_once_and_for_every_later_call(sleep, status):
    script = Script(httpx.Response(status, text="Unauthorized"))
    with mock_client(script, sleep) as client:
        with pytest.raises(PartnerAuthError) as error:
            client.fetch("Category")
        with pytest.raises(PartnerAuthError):
            client.fetch("Establishment")
    message = str(error.value)
    assert f"HTTP {status}" in message and "BIGD_PARTNER_API_KEY" in message
    assert "code=***" in message and not any(spelling in message for spelling in SPELLINGS)
    assert error.value.__context__ is None
    assert len(script.requests) == 1 and sleep.waits == []


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture
def client_logs():
    """httpx's and the client's records at DEBUG, collected on their own loggers (the CLI's
    logging setup, run by other tests, stops them propagating to pytest's handler)."""
    handler = Collected()
    loggers = [logging.getLogger(name) for name in ("httpx", "flows.sources.partner.client")]
    levels = [target.level for target in loggers]
    for target in loggers:
        target.setLevel(logging.DEBUG)
        target.addHandler(handler)
    yield handler.messages
    for target, level in zip(loggers, levels, strict=True):
        target.removeHandler(handler)
        target.setLevel(level)


def test_every_log_line_is_redacted(sleep, client_logs):
    script = Script(httpx.Response(503), ok())
    with mock_client(script, sleep) as client:
        client.fetch("Category")
    text = "\n".join(client_logs)
    assert "HTTP Request: GET" in text  # httpx's own request line was logged ...
    assert "code=***" in text  # ... redacted, like the retry warning
    assert "retry 1/3" in text
    assert not any(spelling in text for spelling in SPELLINGS)


def test_the_redactor_cleans_messages_arguments_and_tracebacks():
    redactor = SecretRedactor()
    redactor.add("hunter2")
    try:
        raise ValueError("bad url http://h/?code=hunter2")
    except ValueError:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "GET %s", ("x?code=hunter2",), exc_info=True
        )
        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert "hunter2" not in text
    assert "GET x?code=***" in text and "bad url http://h/?code=***" in text


def test_an_empty_key_or_bad_retry_options_are_refused():
    with pytest.raises(SettingsError, match="key is empty"):
        PartnerApiClient("http://partner.test", "")
    with pytest.raises(ValueError, match="attempts >= 1"):
        PartnerApiClient("http://partner.test", KEY, attempts=0)


def test_resources_build_the_client_with_the_key_from_settings(monkeypatch):
    monkeypatch.setenv("BIGD_PARTNER_API_URL", "http://partner.test/")
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
    get_settings.cache_clear()
    resources = Resources(get_settings())
    key = resources.partner_key()
    assert isinstance(key, SecretStr) and key.get_secret_value() == KEY
    with resources.partner_client(timeout=3, attempts=2) as client:
        assert client.base_url == "http://partner.test" and client.attempts == 2
        assert KEY not in repr(client) + repr(client.__dict__)


def test_resources_refuse_a_missing_url():
    with pytest.raises(SettingsError, match="BIGD_PARTNER_API_URL"):
        Resources(get_settings()).partner_client()


# ---- against the real local partner API -----------------------------------------------------


@pytest.mark.integration
def test_500_then_success(api, client, sleep):
    api.inject("status", table="Category", status=500)
    response = client.fetch("Category")
    assert [row["name"] for row in response.records] == ["Cerveja", "Vinho", "Feijão"]
    assert response.attempts == 2
    assert (client.stats.requests, client.stats.retries) == (2, 1)
    assert [r.status for r in api.requests] == [500, 200]
    assert len(sleep.waits) == 1


@pytest.mark.integration
def test_429_honours_retry_after(api, client, sleep):
    api.inject("throttle", table="Sale", retry_after=7)
    response = client.fetch("Sale", sale_date=D1)
    assert [row["id"] for row in response.records] == day_ids(D1)
    assert sleep.waits == [7.0]
    assert client.stats.retries == 1


@pytest.mark.integration
def test_response_slower_than_the_timeout_is_retried(api, sleep):
    slow = api.inject("delay", table="Category", seconds=3.0)
    with make_client(api.url, sleep, timeout=0.3) as client:
        assert len(client.fetch("Category").records) == 3
        assert (client.stats.requests, client.stats.retries) == (2, 1)
    assert slow.used == 1


@pytest.mark.integration
def test_always_slow_fails_after_the_attempts(api, sleep):
    api.inject("delay", table="Category", seconds=3.0, times=2)
    with (
        make_client(api.url, sleep, timeout=0.3, attempts=2) as client,
        pytest.raises(PartnerApiError, match=r"failed after 2 attempts.*ReadTimeout") as error,
    ):
        client.fetch("Category")
    assert KEY not in str(error.value)
    assert error.value.__cause__ is None and error.value.__context__ is None


@pytest.mark.integration
def test_truncated_json_is_retried(api, client):
    api.inject("truncate", table="Establishment")
    response = client.fetch("Establishment")
    assert [row["cnpj"] for row in response.records] == CNPJS
    assert client.stats.retries == 1


@pytest.mark.integration
def test_persistently_truncated_json_fails_clearly(api, sleep):
    api.inject("truncate", table="Establishment", times=3)
    with (
        make_client(api.url, sleep, attempts=3) as client,
        pytest.raises(PartnerApiError, match="invalid JSON") as error,
    ):
        client.fetch("Establishment")
    assert len(api.requests) == 3
    assert KEY not in str(error.value)


@pytest.mark.integration
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
        outcome = ingest_sales_days(IngestContext(lake, client, PSEUDONYM_KEY), days, workers=4)
    assert outcome.failed_day == D1 and "refused the key" in outcome.error
    assert wrong_key not in outcome.error
    assert outcome.watermark is None and read_watermark(lake) is None
    assert len(api.requests) <= 1 + 4  # at most the requests already in flight
    assert {r.status for r in api.requests} == {401}
    assert sleep.waits == []


@pytest.mark.integration
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
    assert len(sleep.waits) == 2


@pytest.mark.integration
def test_key_from_a_prefect_secret_block(prefect_harness):
    from prefect.blocks.system import Secret

    with pytest.raises(SettingsError, match="BIGD_PARTNER_API_KEY: not set"):
        Resources(get_settings()).partner_key()
    Secret(value=KEY).save(PARTNER_KEY_BLOCK, overwrite=True)
    try:
        assert Resources(get_settings()).partner_key().get_secret_value() == KEY
    finally:
        Secret.delete(PARTNER_KEY_BLOCK)
