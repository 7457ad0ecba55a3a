"""DuckDB (embedded default): read the trusted Parquet directly.

For a folder lake the staging relation is a view over ``read_parquet``, so the data is
read once, inside the swap's INSERT ... SELECT. Other lakes (S3) are scanned through
pyarrow's filesystem and copied into a staging table, so no httpfs extension (and no
network at test time) is needed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine

from flows.warehouse.engines import ENGINES
from flows.warehouse.merge import quote
from flows.warehouse.tables import TrustedInput


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBLoader:
    """Stage trusted Parquet into DuckDB."""

    dialect = ENGINES["duckdb"].dialect

    def stage(self, engine: Engine, item: TrustedInput) -> None:
        """Create ``staging.<table>`` with the Parquet's own schema."""
        staging = item.spec.staging
        columns = ", ".join(quote(name) for name in item.schema.names)
        with engine.begin() as conn:
            _drop_staging(conn, item)
            if item.files and _is_local(item):
                files = ", ".join(_sql_string(path) for path in item.files)
                hive = "true" if item.hive else "false"
                conn.exec_driver_sql(
                    f"CREATE VIEW {staging} AS SELECT {columns} FROM read_parquet([{files}], "
                    f"hive_partitioning = {hive}, union_by_name = true)"
                )
                return
            raw: Any = conn.connection.driver_connection
            source = f"bigd_source_{item.spec.name}"
            raw.register(source, item.dataset)
            try:
                conn.exec_driver_sql(f"CREATE TABLE {staging} AS SELECT {columns} FROM {source}")
            finally:
                raw.unregister(source)

    def cleanup(self, engine: Engine, items: list[TrustedInput]) -> None:
        """Drop the staging views and tables (views would point at files that may move)."""
        with engine.begin() as conn:
            for item in items:
                _drop_staging(conn, item)


def _drop_staging(conn: Connection, item: TrustedInput) -> None:
    """Drop ``staging.<table>`` whether it is a view or a table (DuckDB insists on the kind)."""
    kind = conn.exec_driver_sql(
        "SELECT table_type FROM information_schema.tables "
        f"WHERE table_schema = 'staging' AND table_name = '{item.spec.name}'"
    ).scalar()
    if kind is not None:
        conn.exec_driver_sql(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {item.spec.staging}")


def _is_local(item: TrustedInput) -> bool:
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    return isinstance(item.dataset, ds.FileSystemDataset) and isinstance(
        item.dataset.filesystem, pafs.LocalFileSystem
    )


def loader(settings: object) -> DuckDBLoader:
    """The registry's factory (DuckDB needs no settings)."""
    return DuckDBLoader()
