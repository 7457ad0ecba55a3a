"""The warehouse: DDL and views from ``flows/sql/``, load strategies per engine.

``load(engine, lake, loader, release)`` is the whole load; ``loader_for(engine, settings)``
picks DuckDB (read Parquet directly), PostgreSQL (COPY FROM STDIN) or Redshift (S3 +
manifest + COPY).
"""

from flows.warehouse.loading import (
    LoadResult,
    create_schema,
    engine_for,
    load,
    loader_for,
    run_summary,
)
from flows.warehouse.reconcile import ReconciliationError, ReconciliationRow

__all__ = [
    "LoadResult",
    "ReconciliationError",
    "ReconciliationRow",
    "create_schema",
    "engine_for",
    "load",
    "loader_for",
    "run_summary",
]
