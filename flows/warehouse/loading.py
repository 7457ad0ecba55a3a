"""One warehouse load: schema, staging per table, then one transaction that swaps every
partition, reseeds the channels and reconciles row counts before it commits.

A failure anywhere (staging, a cast in the swap, a count mismatch) rolls the
transaction back, so the previous data stays queryable and unchanged; loading the same
trusted data twice gives the same rows because every partition is replaced, not appended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flows.config import Settings
from flows.lake import Lake
from flows.warehouse.merge import swap_plan, used_columns
from flows.warehouse.reconcile import ReconciliationRow, check, reconcile
from flows.warehouse.tables import TrustedInput, discover, latest_release
from flows.warehouse.views import file_statements, schema_statements, view_statements

log = logging.getLogger(__name__)


class Loader(Protocol):
    """A load strategy: fills ``staging.<table>`` from trusted Parquet, never row by row."""

    dialect: str

    def stage(self, engine: Engine, item: TrustedInput) -> None: ...

    def cleanup(self, engine: Engine, items: list[TrustedInput]) -> None: ...


@dataclass
class LoadResult:
    """What one load did."""

    release: str | None
    reconciliation: list[ReconciliationRow]
    null_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(row.loaded_rows for row in self.reconciliation)

    def summary(self) -> dict[str, object]:
        tables = sorted({row.table for row in self.reconciliation})
        return {
            "release": self.release,
            "tables": len(tables),
            "partitions": len(self.reconciliation),
            "rows_loaded": self.rows_loaded,
            "null_columns": self.null_columns,
        }


# A load streams Parquet through DuckDB; capping its buffer pool keeps the load's memory
# nearly flat with the table size (measured: 5M rows peak 484 MB capped vs 933 MB not)
# at no cost in speed. Queries from notebooks keep DuckDB's default.
DUCKDB_LOAD_MEMORY_LIMIT = "256MB"


def engine_for(url: str, *, for_load: bool = False) -> Engine:
    """A SQLAlchemy engine for the warehouse URL (``for_load``: tuned for bulk loads)."""
    if sa.engine.make_url(url).get_backend_name() == "duckdb":
        # Tables have no row order; letting DuckDB insert in parallel is ~15% faster.
        config: dict[str, object] = {"preserve_insertion_order": False}
        if for_load:
            config["memory_limit"] = DUCKDB_LOAD_MEMORY_LIMIT
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"config": config})
    return sa.create_engine(url, pool_pre_ping=True)


def loader_for(engine: Engine, settings: Settings) -> Loader:
    """The load strategy for the engine's dialect (settings only matter for Redshift)."""
    backend = engine.url.get_backend_name()
    if backend == "duckdb":
        from flows.warehouse.duckdb import DuckDBLoader

        return DuckDBLoader()
    if backend == "postgresql":
        from flows.warehouse.postgres import PostgresLoader

        return PostgresLoader()
    if backend == "redshift":
        from flows.lake import s3_filesystem
        from flows.warehouse.redshift import RedshiftLoader

        if not settings.redshift_iam_role or not settings.redshift_staging_prefix:
            raise ValueError(
                "a Redshift warehouse needs BIGD_REDSHIFT_IAM_ROLE and BIGD_REDSHIFT_STAGING_PREFIX"
            )
        return RedshiftLoader(
            iam_role=settings.redshift_iam_role,
            staging_uri=settings.redshift_staging_prefix,
            slices=settings.redshift_slices,
            filesystem=s3_filesystem(settings.s3_endpoint_url),
        )
    raise ValueError(f"no load strategy for warehouse backend {backend!r}")


def create_schema(engine: Engine, dialect: str) -> None:
    """Schemas, core and model-output tables (if missing) and every view (recreated)."""
    with engine.begin() as conn:
        for statement in [*schema_statements(dialect), *view_statements(dialect)]:
            conn.exec_driver_sql(statement)


def load(
    engine: Engine,
    lake: Lake,
    loader: Loader,
    release: str | None = None,
    *,
    create: bool = True,
) -> LoadResult:
    """Load the trusted zone (the given or latest CNPJ release, partner, public data)."""
    release = release or latest_release(lake)
    inputs = discover(lake, release)
    if create:
        create_schema(engine, loader.dialect)
    plans = {item.spec.core: swap_plan(item, loader.dialect) for item in inputs}
    # Stage only what the core tables take (the trusted zone keeps more columns).
    inputs = [item.only(used_columns(item)) for item in inputs]
    try:
        for item in inputs:
            log.info("staging %s (%d trusted rows)", item.spec.core, item.num_rows)
            loader.stage(engine, item)
        with engine.begin() as conn:
            for item in inputs:
                for statement in plans[item.spec.core].statements:
                    conn.exec_driver_sql(statement)
            for statement in file_statements("channels.sql", loader.dialect):
                conn.exec_driver_sql(statement)
            rows = reconcile(conn, inputs, loader.dialect)
            check(rows)  # raising here rolls the whole swap back
    finally:
        try:
            loader.cleanup(engine, inputs)
        except Exception:
            log.warning("could not clean up staging data", exc_info=True)
    null_columns = {core: plan.null_columns for core, plan in plans.items() if plan.null_columns}
    return LoadResult(release, rows, null_columns)
