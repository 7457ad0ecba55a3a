"""Client for the partner's sales API (contract in product.md), safe with its secret key.

The function key travels in the query string (``?code=``), so any URL, log line or
exception text that is not redacted can leak it. This module therefore:
never logs or raises with a raw URL (it shows ``code=***``); raises its own exceptions
outside ``except`` blocks so no httpx exception (which carries the request and its URL)
is chained to them; and installs a logging filter on the httpx and httpcore loggers that
replaces the key in every record they emit, at any level.

Retries: connection errors, timeouts, 5xx, 429 (waiting what ``Retry-After`` asks) and
bodies that are not valid JSON are retried with exponential backoff and jitter. A
refused key (401/403) fails at once, and every later call of the same client fails
without a request, so concurrent day fetches cannot turn it into a retry storm.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import httpx
from pydantic import SecretStr

from flows.config import Settings, SettingsError
from flows.resources import PARTNER_KEY_BLOCK as SECRET_BLOCK

ENDPOINT = "/api/InteliFunctionGetData"

REDACTED = "***"
HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})

logger = logging.getLogger(__name__)


class PartnerApiError(RuntimeError):
    """The partner API failed for good (after retries, or a request it refused)."""


class PartnerAuthError(PartnerApiError):
    """The partner API refused the key: no retry can fix that."""


class SecretRedactor(logging.Filter):
    """Replaces known secrets in a record's message and traceback text before any handler."""

    def __init__(self) -> None:
        super().__init__("bigd-secret-redactor")
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        # Longest first: a short spelling must not break up a longer one before it is seen.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: let the handler report it as logging does
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


redactor = SecretRedactor()


def _spellings(secret: str) -> set[str]:
    """The secret as it may appear in text: raw, and percent-encoded as in a query string."""
    in_httpx_url = str(httpx.URL("http://host/", params={"code": secret})).split("code=", 1)[1]
    return {secret, in_httpx_url, quote(secret, safe=""), quote_plus(secret)}


def protect_secret(secret: str) -> None:
    """Redact ``secret`` from the HTTP libraries' and this module's log records from now on."""
    for spelling in _spellings(secret):
        redactor.add(spelling)
    for name in (*HTTP_LOGGERS, __name__):
        target = logging.getLogger(name)
        if redactor not in target.filters:
            target.addFilter(redactor)


def resolve_key(settings: Settings) -> SecretStr:
    """The key from ``BIGD_PARTNER_API_KEY``, else from the Prefect Secret block."""
    from flows.resources import Resources

    return Resources(settings).partner_key()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; tests pass tiny delays."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retries need attempts >= 1 and delays >= 0")

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class ClientStats:
    """Counters for the run summary (thread-safe)."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)


@dataclass(frozen=True)
class PartnerResponse:
    """One successful answer: the body as fetched and its parsed records."""

    table: str
    params: dict[str, str]
    body: bytes
    records: list
    attempts: int
    described: str


class PartnerApiClient:
    """``GET /api/InteliFunctionGetData`` with retries, a timeout and bounded concurrency."""

    def __init__(
        self,
        base_url: str,
        key: SecretStr | str,
        *,
        timeout: float = 30.0,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)
        if not self._key.get_secret_value():
            raise SettingsError("BIGD_PARTNER_API_KEY: the partner API key is empty")
        protect_secret(self._key.get_secret_value())
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._refused: str | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_concurrency),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"PartnerApiClient({self.base_url!r})"

    def __enter__(self) -> PartnerApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def describe(self, params: dict[str, str]) -> str:
        """The request as it may be shown anywhere: the URL with ``code=***``."""
        query = "&".join(f"{name}={value}" for name, value in params.items())
        return f"GET {self.base_url}{ENDPOINT}?code={REDACTED}&{query}"

    def fetch(
        self,
        table: str,
        *,
        sale_date: dt.date | None = None,
        sale_cnpj: str | None = None,
        sale_category: int | None = None,
    ) -> PartnerResponse:
        """One table (sales optionally filtered) as a JSON array, retried until it works."""
        params = {"table": table}
        if sale_date is not None:
            params["saleDate"] = sale_date.isoformat()
        if sale_cnpj is not None:
            params["saleCnpj"] = sale_cnpj
        if sale_category is not None:
            params["saleCategory"] = str(sale_category)
        described = self.describe(params)
        for attempt in range(1, self.retry.attempts + 1):
            outcome = self._attempt(params, described)
            if isinstance(outcome, PartnerResponse):
                return PartnerResponse(
                    table, params, outcome.body, outcome.records, attempt, described
                )
            problem, wait = outcome
            if attempt == self.retry.attempts:
                break
            wait = self.retry.backoff(attempt) if wait is None else wait
            logger.warning(
                "%s: %s; retry %d/%d in %.2f s",
                described,
                problem,
                attempt,
                self.retry.attempts - 1,
                wait,
            )
            self.stats.add(retries=1)
            self._sleep(wait)
        self.stats.add(failures=1)
        raise PartnerApiError(
            f"{described} failed after {self.retry.attempts} attempts; last error: {problem}"
        )

    def _attempt(
        self, params: dict[str, str], described: str
    ) -> PartnerResponse | tuple[str, float | None]:
        """One request: the response, or (what went wrong, how long to wait; None = backoff).

        Errors that must not be retried are raised here, never inside an ``except`` block,
        so the httpx exception (and the URL it carries) is not chained to ours.
        """
        if self._refused is not None:
            raise PartnerAuthError(self._refused)
        problem: str | None = None
        with self._slots:
            self.stats.add(requests=1)
            try:
                response = self._http.get(
                    ENDPOINT, params={"code": self._key.get_secret_value(), **params}
                )
            except httpx.RequestError as error:  # connection, timeout, protocol, decoding
                problem = f"{type(error).__name__}: {redactor.redact(str(error)) or 'no detail'}"
        if problem is not None:
            return problem, None
        status = response.status_code
        text = redactor.redact(response.text[:300].strip()) if status != 200 else ""
        if status in AUTH_STATUSES:
            self._refused = (
                f"{described}: the partner API refused the key (HTTP {status}). Check "
                f"BIGD_PARTNER_API_KEY or the Prefect Secret block {SECRET_BLOCK!r}; "
                "not retrying."
            )
            raise PartnerAuthError(self._refused)
        if status in RETRY_STATUSES:
            wait = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
            if wait is not None and wait > self.retry.max_retry_after:
                raise PartnerApiError(
                    f"{described}: HTTP 429 asks to wait {wait:.0f} s, more than the "
                    f"{self.retry.max_retry_after:.0f} s limit"
                )
            return f"HTTP {status} {text}".strip(), wait
        if status != 200:
            raise PartnerApiError(f"{described}: HTTP {status}: {text}")
        body = response.content
        try:
            records = json.loads(body)
        except ValueError as error:
            problem = f"invalid JSON ({redactor.redact(str(error))}; {len(body):,} bytes)"
        if problem is not None:
            return problem, None
        if not isinstance(records, list):
            kind = type(records).__name__
            raise PartnerApiError(f"{described}: expected a JSON array, got {kind}")
        return PartnerResponse(params["table"], params, body, records, 1, described)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: seconds (fractions allowed) or a date."""
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
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
