"""One rule for "is this worth another try?", and retries through ``tenacity``.

Only trouble that can heal by waiting is retried: a dropped or refused connection, a
timeout, an HTTP 408/429/5xx answer, a warehouse connection that went away, a Kafka
broker that cannot be reached yet. Everything
else (a wrong key, a 404, a corrupt zip, a missing folder, bad data) fails at once, so an
operator reads the real error seconds after the run starts instead of minutes later.

Each piece of I/O retries in exactly one place: the HTTP clients here, the warehouse load
through :func:`prefect_retry_condition` on its task. A task never retries on top of a
client's own retries.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import tenacity

log = logging.getLogger(__name__)

RETRIABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
T = TypeVar("T")


class TransientError(Exception):
    """Raised by our own code for a failure that can heal by waiting (e.g. a short read)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def is_transient(error: BaseException) -> bool:
    """The shared rule: can waiting and trying again fix ``error``?"""
    if isinstance(error, TransientError):
        return True
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in RETRIABLE_STATUS
    if isinstance(error, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    if type(error).__module__.startswith("kafka."):
        # kafka-python marks each of its errors: a broker not reachable yet is retriable.
        return bool(getattr(error, "retriable", False))
    return _is_lost_database_connection(error)


def _is_lost_database_connection(error: BaseException) -> bool:
    """A warehouse that could not be reached (PostgreSQL/Redshift): worth another try.
    DuckDB errors (a missing folder, a locked file) are not: they are about the path."""
    try:
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        return False
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    module = type(error.orig).__module__ if error.orig is not None else ""
    return isinstance(error, OperationalError | InterfaceError) and module.startswith("psycopg")


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: seconds (fractions allowed) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _asked_wait(error: BaseException | None) -> float | None:
    if isinstance(error, TransientError):
        return error.retry_after
    if isinstance(error, httpx.HTTPStatusError):
        return retry_after_seconds(error.response.headers.get("Retry-After"))
    return None


class _WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    """What the server asked for (Retry-After), else exponential backoff with jitter."""

    def __init__(self, base: float, maximum: float):
        self.backoff = tenacity.wait_random_exponential(multiplier=base, max=maximum)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        asked = _asked_wait(outcome.exception() if outcome is not None else None)
        return asked if asked is not None else self.backoff(retry_state)


def retrying(
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` with the shared rule: transient errors only, up to
    ``attempts`` tries, Retry-After honoured, the last error re-raised as it was."""
    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(attempts),
        "wait": _WaitRetryAfterOrBackoff(base_delay, max_delay),
        "retry": tenacity.retry_if_exception(is_transient),
        "reraise": True,
        "before_sleep": on_retry or _log_retry,
    }
    if sleep is not None:
        options["sleep"] = sleep
    return tenacity.Retrying(**options)


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("attempt %d failed (%s); retrying in %.1f s", state.attempt_number, error, wait)


def prefect_retry_condition(task: object, task_run: object, state: object) -> bool:
    """``retry_condition_fn`` for Prefect tasks: retry only what :func:`is_transient` allows."""
    try:
        state.result()  # type: ignore[attr-defined]
    except Exception as error:
        return is_transient(error)
    return False
