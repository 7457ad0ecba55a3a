"""Load a run's output files into ``mart.potential_by_region``, ``mart.prospects`` and
``mart.top_prospects``.

A run's rows are replaced whole inside one transaction (DELETE the run id, INSERT the
file), so loading the same run twice leaves one copy, and a failure leaves the previous
rows. DuckDB inserts straight from Arrow; PostgreSQL and Redshift through SQLAlchemy's
batched executemany (the tables are a run's aggregates, not the registry).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flows.analysis.outputs import POTENTIAL_SCHEMA, PROSPECTS_SCHEMA, TOP_PROSPECTS_SCHEMA
from flows.warehouse.engines import engine_kind
from flows.warehouse.merge import quote, sql_type
from flows.warehouse.views import file_statements

MART_TABLES = {
    "potential_by_region": ("mart.potential_by_region", POTENTIAL_SCHEMA),
    "prospects": ("mart.prospects", PROSPECTS_SCHEMA),
    "top_prospects": ("mart.top_prospects", TOP_PROSPECTS_SCHEMA),
}
INSERT_BATCH = 5_000
LOAD_BATCH = 100_000  # rows read from a Parquet file at a time: memory stays bounded


def _warehouse_table(table: pa.Table) -> pa.Table:
    """The warehouse columns are TIMESTAMP (UTC, no zone): drop the zone, keep the instant."""
    stamp = table.schema.get_field_index("scored_at")
    naive = table.column(stamp).cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    return table.set_column(stamp, "scored_at", naive)


def ensure_tables(conn: Connection, dialect: str) -> None:
    """Create the mart tables if missing, add any column an older DDL lacked, and let a
    column the outputs no longer have (``top_prospects.prospect_rank`` before the shortlist)
    be null, so new runs load next to old runs' rows (not on Redshift, which cannot drop a
    NOT NULL: there, drop the old table once)."""
    for statement in [
        *file_statements("schemas.sql", dialect),
        *file_statements("mart_tables.sql", dialect),
    ]:
        conn.exec_driver_sql(statement)
    for qualified, schema in MART_TABLES.values():
        name = qualified.split(".")[1]
        present = {
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'mart' AND table_name = :name"
                ),
                {"name": name},
            )
        }
        for field in schema:
            if field.name not in present:
                kind = "TIMESTAMP" if field.name == "scored_at" else sql_type(field.type, dialect)
                conn.exec_driver_sql(
                    f"ALTER TABLE {qualified} ADD COLUMN {quote(field.name)} {kind}"
                )
        if dialect != "redshift":
            for legacy in sorted(present - set(schema.names)):
                conn.exec_driver_sql(
                    f"ALTER TABLE {qualified} ALTER COLUMN {quote(legacy)} DROP NOT NULL"
                )


def _insert(conn: Connection, qualified: str, table: pa.Table, backend: str) -> None:
    columns = ", ".join(quote(name) for name in table.column_names)
    if backend == "duckdb":
        raw: Any = conn.connection.driver_connection
        raw.register("bigd_analysis_rows", table)
        try:
            conn.exec_driver_sql(
                f"INSERT INTO {qualified} ({columns}) SELECT {columns} FROM bigd_analysis_rows"
            )
        finally:
            raw.unregister("bigd_analysis_rows")
        return
    names = table.column_names
    statement = sa.text(
        f"INSERT INTO {qualified} ({columns}) VALUES ({', '.join(':' + n for n in names)})"
    )
    for batch in table.to_batches(max_chunksize=INSERT_BATCH):
        conn.execute(statement, batch.to_pylist())


def _batches(source: pa.Table | Path | str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A table's schema and its rows in batches of at most ``LOAD_BATCH``: a Parquet file is
    streamed (never read whole), an Arrow table (tests) sliced."""
    if isinstance(source, pa.Table):
        return source.schema, iter(source.to_batches(max_chunksize=LOAD_BATCH))
    file = pq.ParquetFile(source)
    return file.schema_arrow, file.iter_batches(batch_size=LOAD_BATCH)


def load_run(
    engine: Engine, run_id: str, tables: Mapping[str, pa.Table | Path | str]
) -> dict[str, int]:
    """Replace the run's rows in every mart table in one transaction; rows loaded per table.

    ``tables`` maps each mart table to an Arrow table or a Parquet file, which is inserted
    batch by batch (checked batch by batch: a row of another run fails the whole load)."""
    backend = engine.url.get_backend_name()
    dialect = engine_kind(backend).dialect
    loaded = {}
    with engine.begin() as conn:
        ensure_tables(conn, dialect)
        for key, (qualified, schema) in MART_TABLES.items():
            found, batches = _batches(tables[key])
            if not found.equals(schema, check_metadata=False):
                raise ValueError(f"{key}: not the documented schema")
            conn.execute(
                sa.text(f"DELETE FROM {qualified} WHERE run_id = :run_id"), {"run_id": run_id}
            )
            loaded[key] = 0
            for batch in batches:
                if not batch.num_rows:
                    continue
                if pc.unique(batch.column("run_id")).to_pylist() != [run_id]:
                    raise ValueError(f"{key}: rows of another run than {run_id!r}")
                table = pa.Table.from_batches([batch], schema=found)
                _insert(conn, qualified, _warehouse_table(table), backend)
                loaded[key] += batch.num_rows
    return loaded
