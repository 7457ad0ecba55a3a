"""Ingesting public datasets without Prefect: fetch (path, HTTP), read, validate, write."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
import yaml

from flows.lake import Lake
from flows.sources.public import (
    DatasetError,
    fetch,
    ingest_dataset,
    load_catalog,
    plan,
    raw_key,
    read_and_validate,
    trusted_key,
)
from tests import public_samples as samples

DAY = dt.date(2026, 11, 2)
DATASETS = list(samples.FILES)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def release(tmp_path) -> Path:
    return samples.write_public_release(tmp_path / "release")


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.fixture
def scrub():
    from flows.config import get_settings

    try:
        from flows.scrub import scrub_table
    except ImportError as error:  # helper C's module; every trusted write must go through it
        pytest.skip(f"flows.scrub is not available yet: {error}")
    return functools.partial(scrub_table, key=get_settings().pseudonym_secret())


@pytest.fixture
def http_release(release):
    """The release folder served by a stdlib HTTP server on 127.0.0.1; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(release))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _ingest(source: str, lake: Lake, scrub, dataset: str, catalog=samples.CSV_CATALOG):
    [planned] = plan(load_catalog(catalog), dataset, source)
    raw = fetch(planned, lake, DAY)
    return ingest_dataset(planned, raw, lake, scrub)


def _trusted_rows(lake: Lake, dataset: str) -> list[dict]:
    return pq.read_table(lake.path(trusted_key(dataset)), filesystem=lake.filesystem).to_pylist()


EXPECTED_FIRST_ROW = {
    "pof_food_spending": {
        "uf_code": "35",
        "survey_stratum": 3501,
        "cod_upa": "350000011",
        "household_number": 1,
        "consumption_unit": 1,
        "category": "Feijão",
        "annual_spending_brl": 1234.56,
        "expansion_weight": 812.3456,
        "monthly_income_brl": 4500.0,
    },
    "ipm_nm_uf": {
        "uf_code": "35",
        "uf": "SP",
        "period": "2008-2009",
        "housing": 0.052,
        "public_utilities_access": 0.031,
        "health_and_food": 0.044,
        "education": 0.06,
        "financial_services_and_living_standard": 0.071,
        "transport_and_leisure": 0.055,
        "ipm_nm": 0.039,
    },
    "population_municipalities": {
        "municipality_code": "3550308",
        "municipality_name": "São Paulo",
        "uf": "SP",
        "population": 11451999,
    },
}


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_dataset_ingests_from_a_path_typed_and_renamed(release, lake, scrub, dataset):
    result = _ingest(str(release), lake, scrub, dataset)

    filename = samples.FILES[dataset][0]
    assert result.raw_key == raw_key(dataset, DAY, filename)
    assert lake.read_bytes(result.raw_key) == (release / "public" / filename).read_bytes()
    table = pq.read_table(lake.path(result.trusted_key))
    entry = load_catalog(samples.CSV_CATALOG).datasets[dataset]
    assert table.schema.names == [c.name for c in entry.columns]
    assert [str(t) for t in table.schema.types] == [str(t) for t in entry.arrow_schema.types]
    assert table.num_rows == result.rows == len(samples.FILES[dataset][2])
    assert table.to_pylist()[0] == EXPECTED_FIRST_ROW[dataset]


@pytest.mark.integration
@pytest.mark.parametrize("dataset", DATASETS)
def test_each_dataset_ingests_over_http(http_release, release, lake, scrub, dataset):
    result = _ingest(http_release, lake, scrub, dataset)

    filename = samples.FILES[dataset][0]
    assert lake.read_bytes(result.raw_key) == (release / "public" / filename).read_bytes()
    assert _trusted_rows(lake, dataset)[0] == EXPECTED_FIRST_ROW[dataset]


@pytest.mark.integration
def test_a_missing_file_over_http_is_an_http_error(http_release, lake):
    [planned] = plan(load_catalog(samples.CSV_CATALOG), "ipm_nm_uf", http_release + "/nowhere")
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        fetch(planned, lake, DAY)
    assert lake.list("raw/") == []  # nothing half-written is left behind


def _answering(*statuses: int, body: bytes = b"uf;ipm\n"):
    """A client whose server answers ``statuses`` in turn (Retry-After 0 on a 503)."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(request.url.path)
        headers = {"Retry-After": "0"} if status == 503 else {}
        return httpx.Response(status, headers=headers, content=body if status == 200 else b"")

    return httpx.Client(transport=httpx.MockTransport(answer)), seen


def test_a_503_from_a_plain_url_is_retried_and_the_file_lands_whole(lake):
    [planned] = plan(load_catalog(samples.CSV_CATALOG), "ipm_nm_uf", "http://ibge.test")
    client, seen = _answering(503, 503, 200, body=b"uf;ipm\n35;0,42\n")
    key = fetch(planned, lake, DAY, client=client)
    assert len(seen) == 3 and seen[0].endswith(planned.filename)
    assert lake.read_bytes(key) == b"uf;ipm\n35;0,42\n"


def test_a_404_from_a_plain_url_fails_at_once_without_a_retry(lake):
    [planned] = plan(load_catalog(samples.CSV_CATALOG), "ipm_nm_uf", "http://ibge.test")
    client, seen = _answering(404, 200)
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        fetch(planned, lake, DAY, client=client)
    assert len(seen) == 1
    assert lake.list("raw/") == []


def test_decimal_comma_and_latin1_are_parsed(release):
    entry = load_catalog(samples.CSV_CATALOG).datasets["pof_food_spending"]
    data = (release / "public" / samples.POF_FILE).read_bytes()
    assert "Feijão".encode("latin-1") in data  # the fixture really is Latin-1

    table, notes = read_and_validate("pof_food_spending", entry, data)

    assert table.column("annual_spending_brl").to_pylist() == [1234.56, 980.10, 310.5, 0.99]
    assert table.column("monthly_income_brl").to_pylist() == [4500.0, 4500.0, 2800.5, 950.0]
    assert table.column("category").to_pylist() == ["Feijão", "Cerveja", "Café", "Arroz"]
    assert notes == ""


def _mismatch(release: Path, dataset: str, header=None, rows=None) -> str:
    path = samples.rewrite(release, dataset, header, rows)
    entry = load_catalog(samples.CSV_CATALOG).datasets[dataset]
    with pytest.raises(DatasetError) as caught:
        read_and_validate(dataset, entry, path.read_bytes())
    return str(caught.value)


def test_missing_required_column_names_it(release):
    header = samples.POF_HEADER.removesuffix(";RENDA_TOTAL")
    rows = [row.rsplit(";", 1)[0] for row in samples.POF_ROWS]
    message = _mismatch(release, "pof_food_spending", header, rows)
    assert "pof_food_spending" in message
    assert "required column 'RENDA_TOTAL' is missing" in message


def test_wrong_type_names_the_column_value_and_line(release):
    rows = [*samples.POF_ROWS[:2], "33;3302;330000022;2;1;Café;abc;1020,75;2800,50"]
    message = _mismatch(release, "pof_food_spending", rows=rows)
    assert "column 'V8000_DEFLA' (annual_spending_brl): values are not float64" in message
    assert "'abc' (line 4)" in message
    assert "1234" not in message  # only the bad value is reported


def test_fraction_in_an_integer_column_is_refused_not_truncated(release):
    rows = [*samples.POPULATION_ROWS, "3550309,Nova Cidade,SP,1.5"]
    message = _mismatch(release, "population_municipalities", rows=rows)
    assert "column 'POPULACAO' (population): values are not int64: '1.5' (line 7)" in message


def test_value_checks_and_keys_are_reported_per_column(release):
    rows = [*samples.IPM_ROWS, "35;Sp;2017-2018;0,021;;0,019;0,025;0,030;0,022;1,5"]
    message = _mismatch(release, "ipm_nm_uf", rows=rows)
    assert "column 'IPM-NM' (ipm_nm): fails less_than_or_equal_to(1.0): '1.5' (line 6)" in message
    assert "column 'UF' (uf): fails str_matches" in message
    assert "column 'Acesso aos serviços de utilidade pública' (public_utilities_access): " in (
        message
    )
    assert "empty values are not allowed (lines 6)" in message
    assert "duplicate rows on key (uf_code, period): lines 3, 6" in message


def test_bad_value_beyond_the_first_block_is_still_reported(release):
    # pyarrow infers types from the first block (1 MB); a bad float further down still has
    # to become a validation failure naming the line, not an unreadable file.
    rows = [f"35;3501;{350000000 + i:09d};1;1;Feijão;12,5;10,0;1000,0" for i in range(1, 30_001)]
    rows.append("35;3501;359999999;1;1;Feijão;doze;10,0;1000,0")
    message = _mismatch(release, "pof_food_spending", rows=rows)
    assert "'doze' (line 30002)" in message


def test_a_row_with_too_few_fields_is_a_read_error(release):
    message = _mismatch(release, "population_municipalities", rows=["3550308,São Paulo,SP"])
    assert "cannot be read as declared" in message and "Expected 4 columns" in message


def test_undeclared_columns_are_dropped_and_noted(release):
    header = samples.POPULATION_HEADER + ",AREA_KM2"
    rows = [row + ",1521.2" for row in samples.POPULATION_ROWS]
    path = samples.rewrite(release, "population_municipalities", header, rows)
    entry = load_catalog(samples.CSV_CATALOG).datasets["population_municipalities"]
    table, notes = read_and_validate("population_municipalities", entry, path.read_bytes())
    assert table.column_names == ["municipality_code", "municipality_name", "uf", "population"]
    assert notes == "ignored undeclared columns: AREA_KM2"


def test_rerun_is_idempotent(release, lake, scrub):
    for dataset in DATASETS:
        _ingest(str(release), lake, scrub, dataset)
    first_keys = [obj.key for obj in lake.list()]
    first_tables = {d: _trusted_rows(lake, d) for d in DATASETS}

    for dataset in DATASETS:
        _ingest(str(release), lake, scrub, dataset)

    assert [obj.key for obj in lake.list()] == first_keys  # no temp files, no duplicates
    assert len(first_keys) == 2 * len(DATASETS)
    assert {d: _trusted_rows(lake, d) for d in DATASETS} == first_tables


def test_adding_a_dataset_is_a_catalog_entry(tmp_path, lake, scrub):
    folder = tmp_path / "my_catalog"
    samples.write_csv(
        folder / "data" / "beer_prices.csv",
        "UF;PRECO_MEDIO;OBS",
        ["SP;4,99;", "RJ;5,25;promo"],
        "utf-8",
    )
    entry = {
        "title": "Average beer price per UF",
        "source": "made up for the test",
        "licence": "CC0",
        "read": {"location": "data/beer_prices.csv", "separator": ";", "decimal": ","},
        "columns": [
            {"source": "UF", "name": "uf", "type": "string", "pattern": "^[A-Z]{2}$"},
            {"source": "PRECO_MEDIO", "name": "average_price_brl", "type": "float64"},
            {"source": "OBS", "name": "note", "type": "string", "nullable": True},
            {"source": "ANO", "name": "year", "type": "int16", "required": False},
        ],
    }
    catalog = folder / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"version": 1, "datasets": {"beer_prices": entry}}))

    result = _ingest("", lake, scrub, "beer_prices", catalog=catalog)

    assert result.rows == 2
    assert _trusted_rows(lake, "beer_prices") == [
        {"uf": "SP", "average_price_brl": 4.99, "note": None, "year": None},
        {"uf": "RJ", "average_price_brl": 5.25, "note": "promo", "year": None},
    ]


def test_a_non_csv_format_needs_a_method(release, lake, scrub):
    [planned] = plan(load_catalog(samples.CSV_CATALOG), "pof_food_spending", str(release))
    fixed_width = planned.entry.read.model_copy(
        update={"format": "fixed_width", "members": ["X.txt"]}
    )
    planned = type(planned)(
        planned.name, planned.entry.model_copy(update={"read": fixed_width}), planned.location
    )
    raw = fetch(planned, lake, DAY)
    with pytest.raises(DatasetError, match="'fixed_width' needs a method"):
        ingest_dataset(planned, raw, lake, scrub)
    assert not lake.exists(trusted_key("pof_food_spending"))


def test_a_missing_local_file_fails_that_dataset(tmp_path, lake):
    [planned] = plan(load_catalog(samples.CSV_CATALOG), "ipm_nm_uf", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="ipm_nm_uf: file not found"):
        fetch(planned, lake, DAY)


@pytest.mark.integration
def test_ingest_into_an_s3_lake(s3_bucket, release, scrub):
    endpoint, bucket = s3_bucket
    lake = Lake.from_url(f"s3://{bucket}/bigd", endpoint)
    result = _ingest(str(release), lake, scrub, "population_municipalities")
    assert lake.exists(result.raw_key)
    assert [obj.key for obj in lake.list("trusted/")] == [result.trusted_key]
    assert (
        _trusted_rows(lake, "population_municipalities")[0]
        == (EXPECTED_FIRST_ROW["population_municipalities"])
    )


def test_the_sample_generator_output_ingests(tmp_path, lake, scrub):
    from flows.sample import generate_release

    release = tmp_path / "generated"
    generate_release(release, establishments=200, seed=11, progress=False)

    for dataset in load_catalog().datasets:
        result = _ingest(str(release), lake, scrub, dataset, catalog=None)
        assert result.rows > 0, dataset
    ipm = pq.read_table(lake.path(trusted_key("ipm_nm_uf")))
    assert ipm.num_rows == 27 + 1  # every UF and Brasil
    assert set(ipm.column("period").to_pylist()) == {"2017-2018"}
    pof = pq.read_table(lake.path(trusted_key("pof_food_spending")))
    assert set(pof.column("uf_code").to_pylist()) == set(ipm.column("uf_code").to_pylist()) - {"BR"}
