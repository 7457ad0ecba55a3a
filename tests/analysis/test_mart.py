"""Loading a run's outputs into the mart: replaced by run id, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlalchemy as sa

from flows.analysis.mart import load_run
from flows.analysis.outputs import POTENTIAL_SCHEMA, PROSPECTS_SCHEMA, TOP_PROSPECTS_SCHEMA
from flows.warehouse import engine_for
from tests import warehouse_fixtures

postgres_server = warehouse_fixtures.postgres_server
postgres_url = warehouse_fixtures.postgres_url
WHEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)

# mart_tables.sql before the analysis existed: the older columns only.
OLD_DDL = [
    "CREATE SCHEMA IF NOT EXISTS mart",
    "CREATE TABLE mart.potential_by_region (run_id VARCHAR(64) NOT NULL, scored_at TIMESTAMP "
    "NOT NULL, uf VARCHAR(2), ibge_code VARCHAR(7), city VARCHAR(256), channel VARCHAR(64), "
    "category VARCHAR(256), predicted_value DOUBLE PRECISION, predicted_low DOUBLE PRECISION, "
    "predicted_high DOUBLE PRECISION, model VARCHAR(128))",
    "CREATE TABLE mart.top_prospects (run_id VARCHAR(64) NOT NULL, scored_at TIMESTAMP NOT "
    "NULL, prospect_rank INTEGER NOT NULL, cnpj_hash VARCHAR(128) NOT NULL, category "
    "VARCHAR(256), score DOUBLE PRECISION, model VARCHAR(128))",
]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.integration)])
def engine(request, tmp_path):
    if request.param == "duckdb":
        engine = engine_for(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    else:
        engine = engine_for(request.getfixturevalue("postgres_url"))
    with engine.begin() as conn:
        for statement in OLD_DDL:
            conn.exec_driver_sql(statement)
    yield engine
    engine.dispose()


def _tables(run_id: str, regions: int, prospects: int) -> dict[str, pa.Table]:
    def rows(schema: pa.Schema, count: int) -> pa.Table:
        columns = {}
        for field in schema:
            if field.name == "run_id":
                values = [run_id] * count
            elif field.name == "scored_at":
                values = [WHEN] * count
            elif pa.types.is_string(field.type):
                values = [None if field.name == "trade_name" else f"{field.name[0]}{i}"
                          for i in range(count)]  # fmt: skip
            elif pa.types.is_boolean(field.type):
                values = [i % 2 == 0 for i in range(count)]
            elif pa.types.is_integer(field.type):
                values = list(range(1, count + 1))
            else:
                values = [float(i) * 1.5 for i in range(count)]
            columns[field.name] = pa.array(values, type=field.type)
        return pa.table(columns, schema=schema)

    return {
        "potential_by_region": rows(POTENTIAL_SCHEMA, regions),
        "prospects": rows(PROSPECTS_SCHEMA, prospects),
        "top_prospects": rows(TOP_PROSPECTS_SCHEMA, prospects),
    }


def _count(engine, table: str, run_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(f"SELECT COUNT(*) FROM mart.{table} WHERE run_id = :r"), {"r": run_id}
        ).scalar_one()


def test_a_run_is_replaced_not_duplicated_and_other_runs_stay(engine):
    assert load_run(engine, "a", _tables("a", 3, 2)) == {"potential_by_region": 3,
                                                         "prospects": 2,
                                                         "top_prospects": 2}  # fmt: skip
    load_run(engine, "b", _tables("b", 4, 4))
    load_run(engine, "a", _tables("a", 5, 1))
    assert [_count(engine, "potential_by_region", r) for r in "ab"] == [5, 4]
    assert [_count(engine, "top_prospects", r) for r in "ab"] == [1, 4]
    assert [_count(engine, "prospects", r) for r in "ab"] == [1, 4]
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT establishments, observed_sales, scored_at FROM mart.potential_by_region "
                "WHERE run_id = 'a' AND city = 'c1'"
            )
        ).one()
    assert row[0] == 2 and row[1] == 1.5  # columns the older DDL lacked were added
    assert row[2].replace(tzinfo=None) == WHEN.replace(tzinfo=None)  # UTC, without zone


def test_a_failed_load_leaves_the_previous_rows(engine):
    load_run(engine, "a", _tables("a", 3, 2))
    bad = _tables("a", 6, 6)
    bad["top_prospects"] = bad["top_prospects"].drop_columns(["expected_revenue"])
    with pytest.raises(ValueError, match="top_prospects: not the documented schema"):
        load_run(engine, "a", bad)
    assert _count(engine, "potential_by_region", "a") == 3
    with pytest.raises(ValueError, match="another run"):
        load_run(engine, "a", _tables("b", 1, 1))


def test_parquet_files_stream_in_batches_and_a_late_foreign_row_fails_the_whole_load(
    engine, tmp_path, monkeypatch
):
    import pyarrow.parquet as pq

    from flows.analysis import mart

    monkeypatch.setattr(mart, "LOAD_BATCH", 4)  # 9 prospects: 3 batches (uf "u9": VARCHAR(2))
    load_run(engine, "a", _tables("a", 3, 2))

    def files(tables: dict[str, pa.Table]) -> dict[str, object]:
        paths = {}
        for key, table in tables.items():
            paths[key] = tmp_path / f"{key}.parquet"
            pq.write_table(table, paths[key], row_group_size=3)
        return paths

    good = files(_tables("a", 7, 9))
    assert load_run(engine, "a", good) == {"potential_by_region": 7, "prospects": 9,
                                           "top_prospects": 9}  # fmt: skip
    assert [_count(engine, t, "a") for t in ("potential_by_region", "prospects")] == [7, 9]
    late = _tables("a", 2, 9)
    late["prospects"] = pa.concat_tables(
        [late["prospects"].slice(0, 8), _tables("b", 1, 1)["prospects"]]
    )
    with pytest.raises(ValueError, match="prospects: rows of another run"):
        load_run(engine, "a", files(late))
    assert [_count(engine, t, "a") for t in ("potential_by_region", "prospects")] == [7, 9]
