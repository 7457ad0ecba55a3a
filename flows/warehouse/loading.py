"""One warehouse load: schema, staging per table, then one transaction that swaps every
partition, reseeds the channels and reconciles row counts before it commits.

A failure anywhere (staging, a cast in the swap, a count mismatch) rolls the
transaction back, so the previous data stays queryable and unchanged; loading the same
trusted data twice gives the same rows because every partition is replaced, not appended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from flows.config import Settings
from flows.lake import Lake
from flows.runs import RunSummary
from flows.warehouse.engines import Loader, engine_kind
from flows.warehouse.merge import swap_plan, used_columns
from flows.warehouse.reconcile import ReconciliationRow, check, reconcile
from flows.warehouse.tables import discover, latest_release
from flows.warehouse.views import (
    add_column_statements,
    file_statements,
    schema_statements,
    view_statements,
)

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """What one load did."""

    release: str | None
    reconciliation: list[ReconciliationRow]
    null_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(row.loaded_rows for row in self.reconciliation)


def run_summary(result: LoadResult) -> RunSummary:
    """The load's line (release, tables, partitions, rows), one row per reconciled partition."""
    tables = sorted({row.table for row in result.reconciliation})
    totals: dict[str, object] = {
        "release": result.release,
        "tables": len(tables),
        "partitions": len(result.reconciliation),
        "rows_loaded": result.rows_loaded,
        "null_columns": result.null_columns,
    }
    line = ", ".join(
        f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
        for name, value in totals.items()
        if value not in ({}, None)
    )
    if bad := [row for row in result.reconciliation if not row.ok]:
        line += f"; {len(bad)} partition(s) do not reconcile"
    return RunSummary(
        flow="load_warehouse",
        line=line,
        rows=[row.to_dict() for row in result.reconciliation],
        totals=totals,
        description="Trusted vs loaded rows per table and partition "
        f"(CNPJ release {result.release}).",
    )


def engine_for(url: str, *, for_load: bool = False) -> Engine:
    """A SQLAlchemy engine for the warehouse URL (``for_load``: tuned for bulk loads)."""
    return engine_kind(url).engine(url, for_load=for_load)


def loader_for(engine: Engine, settings: Settings) -> Loader:
    """The load strategy the registry names for the engine's backend."""
    return engine_kind(engine.url.get_backend_name()).make_loader(settings)


CORE_COLUMNS_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'core'"
)


def create_schema(engine: Engine, dialect: str) -> None:
    """Schemas, core and model-output tables (if missing), the core columns a table created
    by an older ``core.sql`` lacks (added), and every view (recreated); one transaction."""
    with engine.begin() as conn:
        for statement in schema_statements(dialect):
            conn.exec_driver_sql(statement)
        present: dict[str, set[str]] = {}
        for table, column in conn.exec_driver_sql(CORE_COLUMNS_SQL):
            present.setdefault(f"core.{table}", set()).add(column)
        for statement in add_column_statements(present, dialect):
            log.info("adding a column declared in core.sql: %s", statement)
            conn.exec_driver_sql(statement)
        for statement in view_statements(dialect):
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
