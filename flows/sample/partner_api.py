"""A local stand-in for the partner's sales API, serving a sample release's ``partner/`` folder.

It speaks the contract of product.md exactly:
``GET /api/InteliFunctionGetData?code=KEY&table=Category|Establishment|Sale`` with the
optional sale filters ``saleDate=yyyy-MM-dd``, ``saleCnpj=`` and ``saleCategory=`` (a
category id); every answer is a whole JSON array, errors are plain text with status 400,
and a missing or wrong ``code`` gets 401 before anything else is looked at.

Choices the contract leaves open, made here and kept by the client:
table names are case-sensitive; the sale filters are ignored for the other tables;
``saleCnpj`` must be a valid CNPJ (numeric or alphanumeric, punctuation allowed) and an
unknown valid CNPJ gives ``[]``; ``saleCategory`` must be the id of a known category;
a ``saleDate`` that is not a real ``yyyy-MM-dd`` date is a fifth 400 message.

For the ingestion tests it can misbehave on purpose: ``server.inject(...)`` scripts
faults (5xx, 429 with Retry-After, slow answers, truncated JSON, duplicated records)
for the next matching requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from flows.identifiers import is_valid_cnpj, normalize_cnpj

ENDPOINT = "/api/InteliFunctionGetData"
TABLES = ("Category", "Establishment", "Sale")
TABLE_FILES = {
    "Category": "categories.json",
    "Establishment": "establishments.json",
    "Sale": "sales.json",
}
MESSAGE_NO_TABLE = (
    "No source table was provided in the query parameters. "
    "Please inform one of the following tables: Category, Establishment, Sale."
)
MESSAGE_BAD_TABLE = (
    "Please inform a valid source table. The valid source tables are: "
    "Category, Establishment, Sale. The informed source table was: {table}"
)
MESSAGE_BAD_CNPJ = "Invalid CNPJ. Provided CNPJ was: {cnpj}"
MESSAGE_BAD_CATEGORY = "Invalid category. Provided category was: {category}"
MESSAGE_BAD_DATE = "Invalid sale date, expected yyyy-MM-dd. Provided sale date was: {date}"
MESSAGE_UNAUTHORIZED = "Unauthorized: a valid function key must be sent as the code parameter."

FaultKind = Literal["status", "throttle", "delay", "truncate", "duplicate"]
logger = logging.getLogger(__name__)


@dataclass
class Fault:
    """A scripted misbehaviour for the next ``times`` requests matching ``table``/``sale_date``."""

    kind: FaultKind
    table: str | None = None
    sale_date: str | None = None
    times: int = 1
    status: int = 500
    retry_after: str = "1"
    seconds: float = 0.0
    used: int = 0

    def matches(self, table: str | None, sale_date: str | None) -> bool:
        return (
            self.used < self.times
            and (self.table is None or self.table == table)
            and (self.sale_date is None or self.sale_date == sale_date)
        )


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (the key is never recorded)."""

    table: str | None
    params: dict[str, str]
    status: int
    fault: FaultKind | None


class PartnerData:
    """The three tables, pre-serialised per record, with sales indexed for the filters."""

    def __init__(self, folder: Path):
        partner = folder / "partner" if (folder / "partner").is_dir() else folder
        self.records: dict[str, list[bytes]] = {}
        for table, name in TABLE_FILES.items():
            path = partner / name
            if not path.exists():
                raise FileNotFoundError(f"partner data file missing: {path}")
            rows = json.loads(path.read_bytes())
            if not isinstance(rows, list):
                raise ValueError(f"{path} must hold a JSON array")
            self.records[table] = [_dump(row) for row in rows]
            if table == "Category":
                self.category_ids = {row["id"] for row in rows if isinstance(row, dict)}
            if table == "Sale":
                self._index_sales(rows)
        self._whole = {table: _join(rows) for table, rows in self.records.items()}

    def _index_sales(self, sales: list[dict]) -> None:
        self.by_date: dict[str, list[int]] = defaultdict(list)
        self.by_cnpj: dict[str, list[int]] = defaultdict(list)
        self.by_category: dict[int | None, list[int]] = defaultdict(list)
        for position, sale in enumerate(sales):
            self.by_date[str(sale.get("saleDate", ""))[:10]].append(position)
            self.by_cnpj[normalize_cnpj(str(sale.get("cnpj", "")))].append(position)
            self.by_category[sale.get("idCategory")].append(position)

    def select(
        self, table: str, sale_date: str | None, cnpj: str | None, category: int | None
    ) -> list[bytes]:
        """The records of ``table``; for sales, those matching every filter given, in order."""
        if table != "Sale" or (sale_date is None and cnpj is None and category is None):
            return self.records[table]
        filters: tuple[tuple[dict[Any, list[int]], object], ...] = (
            (self.by_date, sale_date),
            (self.by_cnpj, cnpj),
            (self.by_category, category),
        )
        candidates = [index.get(value, []) for index, value in filters if value is not None]
        smallest, *others = sorted(candidates, key=len)
        if others:
            keep = set.intersection(*(set(positions) for positions in others))
            smallest = [position for position in smallest if position in keep]
        sales = self.records["Sale"]
        return [sales[position] for position in smallest]

    def body(self, table: str, records: list[bytes]) -> bytes:
        """The JSON array of ``records`` (the whole table is serialised once, at load)."""
        return self._whole[table] if records is self.records[table] else _join(records)


def _dump(row: object) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()


def _join(records: list[bytes]) -> bytes:
    return b"[" + b",".join(records) + b"]"


class _Handler(BaseHTTPRequestHandler):
    server: _PartnerHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        # The default access log prints the request line, and the key is in its query string.
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        code = query.pop("code", "")
        table = query.get("table")
        if url.path != ENDPOINT:
            self._reply(HTTPStatus.NOT_FOUND, b"Not found", table, query)
            return
        if not hmac.compare_digest(code.encode(), self.server.key.encode()):
            self._reply(HTTPStatus.UNAUTHORIZED, MESSAGE_UNAUTHORIZED.encode(), table, query)
            return
        fault = self.server.take_fault(table, query.get("saleDate"))
        if fault is not None and self._misbehave(fault, table, query):
            return
        status, body = self._answer(query)
        if fault is not None and status == HTTPStatus.OK:
            body = _apply_body_fault(fault, body)
        self._reply(status, body, table, query, fault)

    def _misbehave(self, fault: Fault, table: str | None, query: dict[str, str]) -> bool:
        """Faults that replace the answer; True when the request is already answered."""
        if fault.kind == "status":
            self._reply(fault.status, b"Injected server error", table, query, fault)
            return True
        if fault.kind == "throttle":
            headers = {"Retry-After": fault.retry_after}
            self._reply(429, b"Too many requests", table, query, fault, headers)
            return True
        # Waiting on the stop event lets shutdown() cut a slow answer short.
        return fault.kind == "delay" and self.server.stopping.wait(fault.seconds)

    def _answer(self, query: dict[str, str]) -> tuple[int, bytes]:
        table = query.get("table")
        if not table:
            return HTTPStatus.BAD_REQUEST, MESSAGE_NO_TABLE.encode()
        if table not in TABLES:
            return HTTPStatus.BAD_REQUEST, MESSAGE_BAD_TABLE.format(table=table).encode()
        sale_date = cnpj = category = None
        if table == "Sale":
            if "saleDate" in query:
                sale_date = query["saleDate"]
                if not _is_iso_date(sale_date):
                    return HTTPStatus.BAD_REQUEST, MESSAGE_BAD_DATE.format(date=sale_date).encode()
            if "saleCnpj" in query:
                if not is_valid_cnpj(query["saleCnpj"]):
                    message = MESSAGE_BAD_CNPJ.format(cnpj=query["saleCnpj"])
                    return HTTPStatus.BAD_REQUEST, message.encode()
                cnpj = normalize_cnpj(query["saleCnpj"])
            if "saleCategory" in query:
                raw = query["saleCategory"]
                category = int(raw) if raw.strip().isdigit() else None
                if category not in self.server.data.category_ids:
                    return HTTPStatus.BAD_REQUEST, MESSAGE_BAD_CATEGORY.format(
                        category=raw
                    ).encode()
        data = self.server.data
        return HTTPStatus.OK, data.body(table, data.select(table, sale_date, cnpj, category))

    def _reply(
        self,
        status: int,
        body: bytes,
        table: str | None,
        query: dict[str, str],
        fault: Fault | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.server.record(RequestRecord(table, query, int(status), fault.kind if fault else None))
        is_json = status == HTTPStatus.OK
        self.send_response(status)
        content_type = "application/json" if is_json else "text/plain"
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # The client may have given up already (a timeout test); nothing to clean up then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


def _apply_body_fault(fault: Fault, body: bytes) -> bytes:
    """Truncate the array, or repeat its first records (same ids) at the end."""
    if fault.kind == "truncate":
        return body[: max(1, len(body) // 2)]
    if fault.kind == "duplicate":
        records = json.loads(body)
        repeated = records[: max(1, min(3, len(records)))] if records else []
        return _join([_dump(row) for row in records + repeated])
    return body


def _is_iso_date(value: str) -> bool:
    if len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class _PartnerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], data: PartnerData, key: str):
        super().__init__(address, _Handler)
        self.data = data
        self.key = key
        self.stopping = threading.Event()
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()

    def take_fault(self, table: str | None, sale_date: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(table, sale_date):
                    fault.used += 1
                    return fault
        return None

    def record(self, request: RequestRecord) -> None:
        with self._lock:
            self.requests.append(request)

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("partner API handler error", exc_info=True)


@dataclass
class PartnerApiServer:
    """The partner API on a daemon thread: ``with PartnerApiServer(folder, key) as api:``."""

    data_dir: Path
    key: str
    host: str = "127.0.0.1"
    port: int = 0
    _server: _PartnerHTTPServer | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("the partner API needs a non-empty key")

    def __repr__(self) -> str:
        return f"PartnerApiServer(data_dir={self.data_dir!r}, host={self.host!r})"

    def start(self) -> PartnerApiServer:
        """Load the data, bind the port and serve on a daemon thread."""
        data = PartnerData(Path(self.data_dir))
        self._server = _PartnerHTTPServer((self.host, self.port), data, self.key)
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="partner-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> PartnerApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def _running(self) -> _PartnerHTTPServer:
        if self._server is None:
            raise RuntimeError("the partner API server is not running")
        return self._server

    def inject(
        self,
        kind: FaultKind,
        *,
        table: str | None = None,
        sale_date: dt.date | str | None = None,
        times: int = 1,
        status: int = 500,
        retry_after: float | str = 1,
        seconds: float = 0.0,
    ) -> Fault:
        """Script a fault for the next ``times`` requests of ``table`` (and ``saleDate``)."""
        fault = Fault(
            kind=kind,
            table=table,
            sale_date=None if sale_date is None else str(sale_date),
            times=times,
            status=status,
            retry_after=str(retry_after),
            seconds=seconds,
        )
        with self._running._lock:
            self._running.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Forget every scripted fault, used or not."""
        with self._running._lock:
            self._running.faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far (without the key), oldest first."""
        with self._running._lock:
            return list(self._running.requests)


def serve_forever(data_dir: Path, host: str = "127.0.0.1", port: int = 8765, key: str = "") -> None:
    """Serve until interrupted (the ``partner-api`` CLI command); prints the URL, never the key."""
    server = PartnerApiServer(Path(data_dir), key=key, host=host, port=port).start()
    data = server._running.data
    counts = ", ".join(f"{len(data.records[table]):,} {table}" for table in TABLES)
    print(f"Partner API serving {counts} at {server.url}{ENDPOINT}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
