"""Load the trusted zone into the warehouse.

    trusted/cnpj/<release>/..  ┐
    trusted/partner/..         ├─► staging.* ─► one transaction: swap partitions ─► core.*
    trusted/public/..          ┘               + reconcile row counts, then commit ─► mart.*

The engine comes from ``settings.warehouse``; the strategy from its dialect (DuckDB reads
Parquet directly, PostgreSQL COPY FROM STDIN, Redshift COPY from S3 with a manifest).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.config import get_settings
from flows.locks import warehouse_lock
from flows.resources import get_resources
from flows.retry import prefect_retry_condition
from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.warehouse import LoadResult, ReconciliationError, load, run_summary


# Only trouble reaching the warehouse is worth another try (flows.retry's one rule); a data
# problem (missing release, missing column, count mismatch, a rejected COPY) would fail the
# same way again.
@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=prefect_retry_condition)
def load_task(release: str | None) -> LoadResult:
    """Stage, swap and reconcile every trusted table (idempotent: safe to retry)."""
    resources = get_resources()
    warehouse = resources.warehouse
    with warehouse_lock(resources.lake, get_settings().lock_wait_seconds):
        engine = warehouse.engine(for_load=True)
        try:
            return load(engine, resources.lake, warehouse.loader(), release)
        finally:
            engine.dispose()


@flow(name="load_warehouse", log_prints=True)
def load_warehouse(release: str | None = None) -> RunSummary:
    """Load the given (default: latest) CNPJ release plus partner and public data."""
    logger = get_run_logger()
    try:
        result = load_task(release)
    except ReconciliationError as mismatch:  # the table says which partitions differ
        publish_run(run_summary(LoadResult(release, mismatch.rows)))
        raise
    for table, columns in result.null_columns.items():
        logger.warning("%s: %s absent from the trusted data, loaded as NULL", table, columns)
    summary = run_summary(result)
    publish_run(summary)
    return summary
