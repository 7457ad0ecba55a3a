"""Reading the warehouse: a tiny DuckDB warehouse made with the project's own DDL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from flows.analysis import data
from flows.warehouse import create_schema, engine_for


@pytest.fixture
def engine(tmp_path):
    engine = engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")
    create_schema(engine, "duckdb")
    rows = {
        "core.channels": [("5611204", "bar"), ("4711302", "supermarket")],
        "core.establishments": [
            # release, cnpj, hash, basico, filial, fantasia, situacao, sit date, start,
            # cnae, secondary, bairro, cep, uf, municipio, ibge
            ("2026-10", "1", "old", "00000001", "1", "OLD", "02", None, None, "5611204",
             None, "CENTRO", None, "SP", "7107", "3550308"),
            ("2026-11", "1", "h1", "00000001", "1", "BAR UM", "02", None,
             dt.date(2020, 1, 1), "5611204", None, "CENTRO", None, "SP", "7107", "3550308"),
            ("2026-11", "2", "h2", "00000002", "2", "SUPER", "02", None,
             dt.date(2010, 1, 1), "4711302", None, "SÉ", None, "SP", "7107", "3550308"),
            ("2026-11", "3", "h3", "00000003", "1", "FECHADO", "08", None, None,
             "5611204", None, "CENTRO", None, "SP", "7107", "3550308"),
            ("2026-11", "4", "h4", "00000004", "1", "SOFTWARE", "02", None, None,
             "6201501", None, "CENTRO", None, "SP", "7107", "3550308"),
            ("2026-11", "5", "h5", "00000005", "1", "ABROAD", "02", None, None,
             "5611204", None, None, None, "EX", "9707", None),
        ],
        # ..., razao_social as the scrub leaves it (a pseudonym for the MEI)
        "core.companies": [("2026-11", "00000001", "2135", "50", 5000.0, "01", None,
                            "EMPRESARIO INDIVIDUAL 0a1b2c3d"),
                           ("2026-11", "00000002", "2062", "49", 900000.0, "05", None,
                            "SUPERMERCADO SE LTDA")],
        "core.simples": [("2026-11", "00000001", "S", None, None, "S", None, None)],
        "core.municipality_crosswalk": [("3550308", "7107", "São Paulo", "SP")],
        "core.categories": [(1, "Cerveja", True)],
        "core.partner_establishments": [(1, "h1")],
        "core.sales": [
            (1, "h1", 1, None, dt.date(2026, 9, 30), 10.0, 1),
            (2, "h1", 1, None, dt.date(2026, 10, 1), 20.0, 2),
            (3, "h1", 1, None, dt.date(2026, 10, 31), 5.0, 1),
        ],
    }  # fmt: skip
    with engine.begin() as conn:
        for table, values in rows.items():
            marks = ", ".join(["?"] * len(values[0]))
            conn.connection.driver_connection.executemany(
                f"INSERT INTO {table} VALUES ({marks})", values
            )
    yield engine
    engine.dispose()


def test_window_arithmetic():
    window = data.Window.ending("2026-10", 3)
    assert window == data.Window("2026-08", "2026-10")
    assert window.months == ["2026-08", "2026-09", "2026-10"]
    assert (window.first_day, window.stop_day) == (dt.date(2026, 8, 1), dt.date(2026, 11, 1))
    assert data.Window.ending("2026-01", 2).start == "2025-12"


def test_read_warehouse_takes_the_latest_release_and_the_sales_window(engine):
    read = data.read_warehouse(engine, months=1)
    assert read.release == "2026-11"
    assert read.window == data.Window("2026-10", "2026-10")
    establishments = read.establishments.set_index("cnpj_hash")
    assert sorted(establishments.index) == ["h1", "h2"]  # active, a channel, in Brazil
    assert establishments.loc["h1", "opcao_mei"] == "S"
    assert establishments.loc["h2", "capital_social"] == 900000.0
    assert establishments.loc["h1", "city"] == "São Paulo"
    assert establishments.loc["h2", "razao_social"] == "SUPERMERCADO SE LTDA"
    assert read.customers == {"h1"}
    sales = read.monthly_sales
    assert sales.to_dict("records") == [
        {"cnpj_hash": "h1", "category": "Cerveja", "month": "2026-10", "sales_value": 25.0,
         "sale_rows": 2}
    ]  # fmt: skip
    assert "population" in read.regions and "uf_code" in read.pof


def test_read_warehouse_with_an_explicit_release_and_window(engine):
    read = data.read_warehouse(engine, release="2026-10", window=data.Window("2026-09", "2026-10"))
    assert list(read.establishments["cnpj_hash"]) == ["old"]
    assert sorted(read.monthly_sales["month"]) == ["2026-09", "2026-10"]


def test_a_warehouse_not_loaded_since_razao_social_was_added_reads_without_names(engine):
    """Until the next load adds the column, the analysis runs and the legal names are null."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE core.companies DROP COLUMN razao_social")
    read = data.read_warehouse(engine, months=1)
    assert sorted(read.establishments["cnpj_hash"]) == ["h1", "h2"]
    assert read.establishments["razao_social"].isna().all()


def test_an_empty_warehouse_says_what_is_missing(tmp_path):
    engine = engine_for(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    create_schema(engine, "duckdb")
    with pytest.raises(LookupError, match="no CNPJ release"):
        data.latest_release(engine)
    with pytest.raises(LookupError, match="no partner sales"):
        data.latest_sale_month(engine)
    engine.dispose()


def test_person_owned_forms_come_from_the_scrub_policy():
    assert {"2135", "4120"} <= data.person_owned_forms()
    assert "2062" not in data.person_owned_forms()


def test_the_warehouse_engine_comes_from_the_settings(monkeypatch, tmp_path):
    from flows.config import get_settings
    from flows.resources import warehouse_engine

    monkeypatch.setenv("BIGD_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'x.duckdb'}")
    get_settings.cache_clear()
    engine = warehouse_engine()
    assert str(engine.url) == f"duckdb:///{tmp_path / 'x.duckdb'}"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_the_registry_read_in_parts_equals_one_read(engine):
    """At national size the registry is read in parts (by the hash's first character) and
    held compactly (categories for the repeated labels): the same rows and values as one
    query, including parts whose rows have no company record (every name null: an
    all-empty column in that part)."""
    with engine.begin() as conn:
        conn.connection.driver_connection.executemany(
            f"INSERT INTO core.establishments VALUES ({', '.join(['?'] * 16)})",
            [
                ("2026-11", "6", "a6", "00000006", "1", None, "02", None, dt.date(2015, 5, 5),
                 "5611204", None, None, None, "RJ", "6001", "3304557"),
                ("2026-11", "7", "b7", "00000007", "2", "SUPER RIO", "02", None, None,
                 "4711302", None, "LAPA", None, "RJ", "6001", "3304557"),
            ],
        )  # fmt: skip
    read = data.read_warehouse(engine, months=1).establishments
    whole = data.query(engine, data.ESTABLISHMENTS_SQL, release="2026-11")
    assert sorted(read["cnpj_hash"]) == ["a6", "b7", "h1", "h2"]  # three parts: a, b, h
    for column in data.CATEGORICAL_COLUMNS:
        assert str(read[column].dtype) == "category", column
    ordered = read.sort_values("cnpj_hash").reset_index(drop=True).astype(object)
    expected = whole.sort_values("cnpj_hash").reset_index(drop=True).astype(object)
    assert list(ordered.columns) == list(expected.columns)
    assert ordered.isna().equals(expected.isna())
    assert ordered.where(ordered.notna(), None).equals(expected.where(expected.notna(), None))
