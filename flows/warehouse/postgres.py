"""PostgreSQL: ``COPY ... FROM STDIN`` fed by streaming Arrow record batches as CSV.

One record batch is in memory at a time (scanned from Parquet, written as CSV by
pyarrow's C++ writer), so peak memory does not grow with the table.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import Engine

from flows.warehouse.merge import create_staging_sql, quote
from flows.warehouse.tables import TrustedInput

BATCH_ROWS = 64_000
COPY_BUFFER = 1 << 20


class ArrowCsvStream(io.RawIOBase):
    """A read-only file whose bytes are the CSV of a stream of record batches."""

    def __init__(self, batches: Iterable[pa.RecordBatch]):
        self._batches: Iterator[pa.RecordBatch] = iter(batches)
        self._chunk = b""
        self._offset = 0
        self._options = pacsv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        for batch in self._batches:
            if batch.num_rows:
                sink = io.BytesIO()
                pacsv.write_csv(batch, sink, self._options)
                return sink.getvalue()
        return b""

    def read(self, size: int = -1) -> bytes:
        if self._offset >= len(self._chunk):
            self._chunk, self._offset = self._next_chunk(), 0
            if not self._chunk:
                return b""
        end = len(self._chunk) if size is None or size < 0 else self._offset + size
        piece = self._chunk[self._offset : end]
        self._offset += len(piece)
        return piece


def copy_batches(
    dbapi_connection, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
) -> None:
    """``COPY table FROM STDIN`` (CSV: unquoted empty = NULL, ``""`` = empty string)."""
    columns = ", ".join(quote(name) for name in schema.names)
    with dbapi_connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)",
            ArrowCsvStream(batches),
            size=COPY_BUFFER,
        )


class PostgresLoader:
    """Stage trusted Parquet into PostgreSQL with COPY."""

    dialect = "postgres"

    def stage(self, engine: Engine, item: TrustedInput) -> None:
        """Create ``staging.<table>`` (unlogged: scratch) from the Parquet schema; fill it."""
        with engine.begin() as conn:
            for statement in create_staging_sql(item.spec.staging, item.schema, self.dialect, True):
                conn.exec_driver_sql(statement)
            batches = item.batches(BATCH_ROWS)
            copy_batches(conn.connection.driver_connection, item.spec.staging, item.schema, batches)

    def cleanup(self, engine: Engine, items: list[TrustedInput]) -> None:
        with engine.begin() as conn:
            for item in items:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {item.spec.staging}")
