"""The one transient-error rule and the tenacity retries built on it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from flows.retry import TransientError, is_transient, retry_after_seconds, retrying


def _status_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "http://127.0.0.1/x")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_status_error(503), True),
        (_status_error(429), True),
        (_status_error(404), False),
        (_status_error(401), False),
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (ConnectionResetError("reset"), True),
        (TransientError("short read"), True),
        (FileNotFoundError("no such folder"), False),
        (ValueError("bad zip"), False),
    ],
)
def test_only_what_can_heal_is_transient(error, expected):
    assert is_transient(error) is expected


def test_retry_after_in_seconds_or_as_a_date():
    now = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:07 GMT", now=now) == 7.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_transient_errors_are_retried_and_waits_follow_retry_after():
    waits: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise _status_error(429, {"Retry-After": "3"})
        if calls["n"] == 2:
            raise httpx.ConnectError("refused")
        return "ok"

    assert retrying(attempts=5, base_delay=0.01, sleep=waits.append)(flaky) == "ok"
    assert calls["n"] == 3
    assert waits[0] == 3.0 and 0 <= waits[1] <= 0.02


def test_permanent_errors_fail_at_once_and_exhausted_retries_reraise_the_last_error():
    waits: list[float] = []
    calls = {"n": 0}

    def missing() -> None:
        calls["n"] += 1
        raise FileNotFoundError("warehouse folder missing")

    with pytest.raises(FileNotFoundError):
        retrying(attempts=5, sleep=waits.append)(missing)
    assert calls["n"] == 1 and waits == []

    def down() -> None:
        raise _status_error(503)

    with pytest.raises(httpx.HTTPStatusError):
        retrying(attempts=3, base_delay=0.0, sleep=waits.append)(down)
    assert len(waits) == 2
