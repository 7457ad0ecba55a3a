"""Client for the partner's sales API (contract in product.md), safe with its secret key.

The function key travels in the query string (``?code=``), so any URL, log line or
exception text that is not redacted can leak it. This module therefore:
never logs or raises with a raw URL (it shows ``code=***``); raises its own exceptions
outside ``except`` blocks so no httpx exception (which carries the request and its URL)
is chained to them; and installs a logging filter on the httpx and httpcore loggers that
replaces the key in every record they emit, at any level.

Retries go through ``flows.retry`` (tenacity, the project's one "is this transient?"
rule): connection errors, timeouts, HTTP 408/429/5xx (waiting what ``Retry-After`` asks,
up to a cap) and bodies that are not valid JSON are retried with exponential backoff and
jitter; anything else fails at once. A refused key (401/403) fails at once, and every
later call of the same client fails without a request, so concurrent day fetches cannot
turn it into a retry storm. The key is resolved by ``flows.resources``
(``Resources.partner_client``), never here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import httpx
import tenacity
from pydantic import SecretStr

from flows.config import SettingsError
from flows.retry import (
    RETRIABLE_STATUS,
    TransientError,
    is_transient,
    retry_after_seconds,
    retrying,
)
from flows.sources.partner.tables import PARTNER_SECRET_BLOCK

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
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)
        if not self._key.get_secret_value():
            raise SettingsError("BIGD_PARTNER_API_KEY: the partner API key is empty")
        protect_secret(self._key.get_secret_value())
        if attempts < 1 or base_delay < 0 or max_delay < 0 or max_retry_after < 0:
            raise ValueError("retries need attempts >= 1 and delays >= 0")
        self.base_url = base_url.rstrip("/")
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay
        self.max_retry_after = max_retry_after
        self.stats = ClientStats()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._refused: str | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_concurrency),
            follow_redirects=False,
            transport=transport,  # tests pass httpx.MockTransport
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
        problem = None
        try:
            for attempt in self._retrying(described):
                with attempt:
                    response = self._attempt(params, described)
        except TransientError as error:  # the last attempt failed too
            problem = str(error)
        if problem is not None:  # raised here, outside the except: nothing chained to it
            self.stats.add(failures=1)
            raise PartnerApiError(
                f"{described} failed after {self.attempts} attempts; last error: {problem}"
            )
        number = attempt.retry_state.attempt_number
        return PartnerResponse(table, params, response.body, response.records, number, described)

    def _retrying(self, described: str) -> tenacity.Retrying:
        """The shared retry rule, counting and logging each retry with the redacted request."""

        def on_retry(state: tenacity.RetryCallState) -> None:
            self.stats.add(retries=1)
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: %s; retry %d/%d in %.2f s",
                described,
                error,
                state.attempt_number,
                self.attempts - 1,
                wait,
            )

        return retrying(
            attempts=self.attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            sleep=self._sleep,
            on_retry=on_retry,
        )

    def _attempt(self, params: dict[str, str], described: str) -> PartnerResponse:
        """One request: the response, or an error that says whether to try again.

        Trouble that can heal (the shared rule's statuses, a dropped connection, a body cut
        short) is a ``TransientError``; anything else a ``PartnerApiError``. Both are raised
        here, never inside an ``except`` block, so the httpx exception (and the URL with
        the key it carries) is not chained to ours; their text is redacted.
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
                heals = is_transient(error)  # the shared rule: e.g. a redirect loop does not
        if problem is not None:
            raise TransientError(problem) if heals else PartnerApiError(f"{described}: {problem}")
        status = response.status_code
        text = redactor.redact(response.text[:300].strip()) if status != 200 else ""
        if status in AUTH_STATUSES:
            self._refused = (
                f"{described}: the partner API refused the key (HTTP {status}). Check "
                f"BIGD_PARTNER_API_KEY or the Prefect Secret block {PARTNER_SECRET_BLOCK!r}; "
                "not retrying."
            )
            raise PartnerAuthError(self._refused)
        if status in RETRIABLE_STATUS:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.max_retry_after:
                raise PartnerApiError(
                    f"{described}: HTTP {status} asks to wait {wait:.0f} s, more than the "
                    f"{self.max_retry_after:.0f} s limit"
                )
            raise TransientError(f"HTTP {status} {text}".strip(), retry_after=wait)
        if status != 200:
            raise PartnerApiError(f"{described}: HTTP {status}: {text}")
        body = response.content
        try:
            records = json.loads(body)
        except ValueError as error:
            problem = f"invalid JSON ({redactor.redact(str(error))}; {len(body):,} bytes)"
        if problem is not None:
            raise TransientError(problem)
        if not isinstance(records, list):
            kind = type(records).__name__
            raise PartnerApiError(f"{described}: expected a JSON array, got {kind}")
        return PartnerResponse(params["table"], params, body, records, 1, described)
