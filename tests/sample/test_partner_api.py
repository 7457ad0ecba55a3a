"""The partner API stand-in: the contract of product.md, the key check, fault injection, CLI."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from flows.identifiers import format_cnpj
from flows.sample.partner_api import ENDPOINT, PartnerApiServer
from tests.partner_data import CATEGORIES, CNPJS, DAYS, sales, write_partner_release

KEY = "test-function-key-7Qx"


@pytest.fixture
def api(tmp_path):
    with PartnerApiServer(write_partner_release(tmp_path), key=KEY) as server:
        yield server


@pytest.fixture
def http(api):
    with httpx.Client(base_url=api.url, timeout=5) as client:
        yield client


def get(http: httpx.Client, **params: object) -> httpx.Response:
    return http.get(ENDPOINT, params={"code": KEY, **params})


def expected_sales(sale_date=None, cnpj=None, category=None) -> list[dict]:
    """The filter written independently of the server's indexes."""
    return [
        sale
        for sale in sales()
        if (sale_date is None or sale["saleDate"].startswith(sale_date))
        and (cnpj is None or sale["cnpj"] == cnpj)
        and (category is None or sale["idCategory"] == category)
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("table", "file"),
    [
        ("Category", "categories.json"),
        ("Establishment", "establishments.json"),
        ("Sale", "sales.json"),
    ],
)
def test_each_table_is_the_whole_array(http, tmp_path, table, file):
    response = get(http, table=table)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads((tmp_path / "partner" / file).read_text())


FILTERS = {"saleDate": DAYS[1], "saleCnpj": CNPJS[2], "saleCategory": 2}
COMBINATIONS = [combo for size in range(1, 4) for combo in itertools.combinations(FILTERS, size)]


@pytest.mark.integration
@pytest.mark.parametrize("names", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_sale_filters_and_their_combinations(http, names):
    params = {name: FILTERS[name] for name in names}
    expected = expected_sales(
        sale_date=params.get("saleDate"),
        cnpj=params.get("saleCnpj"),
        category=params.get("saleCategory"),
    )
    assert expected, "the test data must give every combination something to return"
    response = get(http, table="Sale", **params)
    assert response.status_code == 200
    assert response.json() == expected
    assert len(expected) < len(sales())


@pytest.mark.integration
def test_formatted_cnpj_filter_and_unknown_values_give_empty_arrays(http):
    formatted = get(http, table="Sale", saleCnpj=format_cnpj(CNPJS[0])).json()
    assert formatted == expected_sales(cnpj=CNPJS[0])
    unknown_cnpj = "11444777000161"  # valid check digits, not a partner customer
    assert get(http, table="Sale", saleCnpj=unknown_cnpj).json() == []
    assert get(http, table="Sale", saleDate="2020-01-01").json() == []


@pytest.mark.integration
def test_sale_filters_are_ignored_for_other_tables(http):
    response = get(http, table="Category", saleDate=DAYS[0], saleCategory="999")
    assert response.status_code == 200
    assert response.json() == CATEGORIES


@pytest.mark.integration
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "No source table was provided in the query parameters..."),
        ({"table": ""}, "No source table was provided in the query parameters..."),
        (
            {"table": "Sales"},
            "Please inform a valid source table... The informed source table was: Sales",
        ),
        (
            {"table": "category"},
            "Please inform a valid source table... The informed source table was: category",
        ),
        (
            {"table": "Sale", "saleCnpj": "11222333000100"},
            "Invalid CNPJ. Provided CNPJ was: 11222333000100",
        ),
        ({"table": "Sale", "saleCnpj": "abc"}, "Invalid CNPJ. Provided CNPJ was: abc"),
        ({"table": "Sale", "saleCategory": "999"}, "Invalid category. Provided category was: 999"),
        ({"table": "Sale", "saleCategory": "x"}, "Invalid category. Provided category was: x"),
        (
            {"table": "Sale", "saleDate": "16/03/2026"},
            "Invalid sale date, expected yyyy-MM-dd. Provided sale date was: 16/03/2026",
        ),
        (
            {"table": "Sale", "saleDate": "2026-02-30"},
            "Invalid sale date, expected yyyy-MM-dd. Provided sale date was: 2026-02-30",
        ),
    ],
)
def test_error_messages_are_plain_text_400(http, params, message):
    response = get(http, **params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    # product.md quotes the messages with "..." where the partner's text goes on.
    head, _, tail = message.partition("...")
    assert response.text.startswith(head)
    assert response.text.endswith(tail)


@pytest.mark.integration
@pytest.mark.parametrize("code", [None, "", "wrong-key", KEY + "x", KEY[:-1]])
def test_missing_or_wrong_key_is_refused_before_anything_else(http, code):
    params = {"table": "NotATable"} if code else {"table": "Sale"}
    if code is not None:
        params["code"] = code
    response = http.get(ENDPOINT, params=params)
    assert response.status_code == 401
    assert "[" not in response.text


@pytest.mark.integration
def test_unknown_path_is_404(http):
    assert http.get("/api/Other", params={"code": KEY, "table": "Sale"}).status_code == 404


@pytest.mark.integration
def test_requests_are_recorded_without_the_key(api, http):
    get(http, table="Sale", saleDate=DAYS[0])
    http.get(ENDPOINT, params={"code": "nope", "table": "Category"})
    records = api.requests
    assert [(r.table, r.status) for r in records] == [("Sale", 200), ("Category", 401)]
    assert records[0].params == {"table": "Sale", "saleDate": DAYS[0]}
    assert KEY not in repr(records)
    assert KEY not in repr(api)


@pytest.mark.integration
def test_injected_status_applies_to_the_next_matching_requests_only(api, http):
    api.inject("status", table="Sale", sale_date=DAYS[0], status=503, times=2)
    assert get(http, table="Category").status_code == 200
    assert get(http, table="Sale", saleDate=DAYS[1]).status_code == 200
    assert get(http, table="Sale", saleDate=DAYS[0]).status_code == 503
    assert get(http, table="Sale", saleDate=DAYS[0]).status_code == 503
    assert get(http, table="Sale", saleDate=DAYS[0]).json() == expected_sales(DAYS[0])
    assert [r.fault for r in api.requests] == [None, None, "status", "status", None]


@pytest.mark.integration
def test_injected_throttle_sends_retry_after(api, http):
    api.inject("throttle", retry_after=7)
    response = get(http, table="Category")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert get(http, table="Category").status_code == 200


@pytest.mark.integration
def test_injected_delay_outlasts_a_client_timeout(api):
    api.inject("delay", table="Category", seconds=2.0)
    with httpx.Client(base_url=api.url, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        get(client, table="Category")
    with httpx.Client(base_url=api.url, timeout=5) as client:
        assert get(client, table="Category").json() == CATEGORIES


@pytest.mark.integration
def test_injected_truncation_breaks_the_json(api, http):
    api.inject("truncate", table="Establishment")
    response = get(http, table="Establishment")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert len(get(http, table="Establishment").json()) == len(CNPJS)


@pytest.mark.integration
def test_injected_duplicates_repeat_ids(api, http):
    api.inject("duplicate", table="Sale")
    rows = get(http, table="Sale", saleDate=DAYS[2]).json()
    ids = [row["id"] for row in rows]
    assert len(ids) > len(set(ids))
    assert {row["id"] for row in rows} == {row["id"] for row in expected_sales(DAYS[2])}


@pytest.mark.integration
def test_stopping_releases_the_port(tmp_path):
    server = PartnerApiServer(write_partner_release(tmp_path), key=KEY).start()
    port = server.port
    server.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_an_empty_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="non-empty key"):
        PartnerApiServer(write_partner_release(tmp_path), key="")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.integration
def test_cli_serves_the_contract_as_a_real_process(tmp_path):
    release = write_partner_release(tmp_path / "release")
    port = _free_port()
    command = [sys.executable, "-m", "flows", "partner-api", "--data", str(release)]
    command += ["--port", str(port), "--key", KEY]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = process.stdout.readline()
        assert re.search(rf"http://127\.0\.0\.1:{port}\b", line), line
        url = f"http://127.0.0.1:{port}{ENDPOINT}"
        ok = httpx.get(url, params={"code": KEY, "table": "Sale", "saleDate": DAYS[0]})
        assert ok.json() == expected_sales(DAYS[0])
        assert httpx.get(url, params={"code": "bad", "table": "Sale"}).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        stopped_by_itself = True
        try:
            stdout, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            stopped_by_itself = False
            process.kill()
            stdout, stderr = process.communicate()
    assert stopped_by_itself, "Ctrl-C did not stop the server within 10 s"
    assert process.returncode == 0, stderr  # Ctrl-C is the normal way to stop it
    assert KEY not in line + stdout + stderr


def test_cli_refuses_an_empty_key(tmp_path):
    command = [sys.executable, "-m", "flows", "partner-api", "--data", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2  # a usage error, before any server starts
    assert "--key" in result.stderr
