"""Fixtures of the partner source tests: a recording sleep, clients, a folder lake, and
the real local partner API (only the tests that ask for ``api`` start it)."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from flows.lake import Lake
from flows.sample.partner_api import PartnerApiServer
from flows.sources.partner.client import PartnerApiClient, PartnerResponse
from flows.sources.partner.ingest import IngestContext
from tests.partner_data import CATEGORIES, ESTABLISHMENTS, sales, write_partner_release

# Characters a query string must percent-encode, so redaction must catch the encoded form too.
KEY = "s3cr3t/Key+with=signs=="
PSEUDONYM_KEY = b"k" * 32


class RecordingSleep:
    """Stands in for time.sleep: records what the client asked to wait, waits nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(url: str, sleep, key: str = KEY, attempts: int = 4, **options):
    """A client with small delays (their waits are recorded, not slept)."""
    options = {"base_delay": 0.2, "max_delay": 1.0, "max_retry_after": 60, **options}
    return PartnerApiClient(url, key, attempts=attempts, sleep=sleep, **options)


@pytest.fixture
def sleep():
    return RecordingSleep()


@pytest.fixture
def api(tmp_path):
    with PartnerApiServer(write_partner_release(tmp_path / "release"), key=KEY) as server:
        yield server


@pytest.fixture
def client(api, sleep):
    with make_client(api.url, sleep, timeout=5) as partner:
        yield partner


@pytest.fixture
def lake(tmp_path):
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.fixture
def ctx(lake, client):
    return IngestContext(lake, client, PSEUDONYM_KEY)


class StubClient:
    """The client's ``fetch`` without HTTP: answers from the given rows (sales filtered by
    day, as the API does), raises a given error for given days, records what was asked."""

    def __init__(
        self,
        sale_rows: list[dict] | None = None,
        fail: dict[dt.date, Exception] | None = None,
        **tables: list,
    ):
        self.rows = {"Category": CATEGORIES, "Establishment": ESTABLISHMENTS, **tables}
        self.rows["Sale"] = sales() if sale_rows is None else sale_rows
        self.fail = fail or {}
        self.asked: list[tuple[str, dt.date | None]] = []
        self._lock = threading.Lock()

    def fetch(self, table: str, *, sale_date: dt.date | None = None) -> PartnerResponse:
        with self._lock:
            self.asked.append((table, sale_date))
        if sale_date in self.fail:
            raise self.fail[sale_date]
        rows = self.rows[table]
        params = {"table": table}
        if sale_date is not None:
            params["saleDate"] = sale_date.isoformat()
            rows = [row for row in rows if str(row.get("saleDate", "")).startswith(str(sale_date))]
        body = json.dumps(rows, ensure_ascii=False).encode()
        return PartnerResponse(table, params, body, rows, 1, f"GET stub {params}")


@pytest.fixture
def stub():
    return StubClient()
