"""The ``load_warehouse`` flow for real (temporary Prefect server) and its CLI command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import get_settings
from flows.retry import prefect_retry_condition as _retry_if_transient
from flows.warehouse import ReconciliationError, ReconciliationRow, engine_for
from tests.warehouse_fixtures import EXPECTED, RELEASE, view_rows, write_trusted_lake


def test_only_connection_trouble_is_retried_not_data_problems():
    from prefect.states import Failed
    from sqlalchemy.exc import OperationalError

    mismatch = ReconciliationError([ReconciliationRow("core.sales", "2026-03-16", 2, 1)])
    assert not _retry_if_transient(None, None, Failed(data=mismatch))
    assert not _retry_if_transient(None, None, Failed(data=FileNotFoundError("no release")))
    assert _retry_if_transient(None, None, Failed(data=ConnectionError("reset")))
    import duckdb
    import psycopg2

    lost = OperationalError("SELECT 1", {}, psycopg2.OperationalError("server closed"))
    assert _retry_if_transient(None, None, Failed(data=lost))
    # A DuckDB file whose folder is missing fails the same way every time: no retry.
    missing = OperationalError("connect", {}, duckdb.IOException("No such file or directory"))
    assert not _retry_if_transient(None, None, Failed(data=missing))


def test_load_summary_line_and_reconciliation_rows():
    from flows.warehouse import LoadResult, run_summary

    rows = [
        ReconciliationRow("core.establishments", RELEASE, 1500, 1500),
        ReconciliationRow("core.sales", "2026-03-16", 2, 2),
    ]
    summary = run_summary(LoadResult(RELEASE, rows, {"core.sales": ["discount"]}))
    assert summary.line == (
        f"release {RELEASE}, tables 2, partitions 2, rows_loaded 1,502, "
        "null_columns {'core.sales': ['discount']}"
    )
    assert summary.rows == [row.to_dict() for row in rows]
    assert summary.artifact_key == "load-warehouse"

    mismatch = run_summary(LoadResult(None, [ReconciliationRow("core.sales", "d", 2, 1)]))
    assert mismatch.line == "tables 1, partitions 1, rows_loaded 1; 1 partition(s) do not reconcile"


@pytest.mark.integration
def test_flow_loads_the_lake_and_publishes_the_reconciliation(prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from flows.load_flow import load_warehouse

    settings = get_settings()
    write_trusted_lake(settings.data_dir / "lake")

    state = load_warehouse(return_state=True)
    summary = state.result()

    assert summary.totals["release"] == RELEASE and summary.totals["tables"] == 17
    assert summary.line.startswith(f"release {RELEASE}, tables 17, partitions ")
    engine = engine_for(settings.warehouse)
    assert view_rows(engine, "customers_vs_prospects") == EXPECTED["customers_vs_prospects"]
    engine.dispose()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["load-warehouse"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            ),
        )
    assert len(artifacts) == 1
    rows = json.loads(artifacts[0].data)
    assert {"table": "core.establishments", "partition": RELEASE} | {"ok": True} in [
        {k: row[k] for k in ("table", "partition", "ok")} for row in rows
    ]
    assert all(row["ok"] for row in rows) and len(rows) == summary.totals["partitions"]


@pytest.mark.integration
def test_cli_load_reports_a_missing_release(prefect_harness):
    write_trusted_lake(get_settings().data_dir / "lake")
    result = CliRunner().invoke(app, ["load", "--release", "2031-01"])
    assert result.exit_code == 1
    assert "no published CNPJ release 2031-01" in result.output


@pytest.mark.integration
def test_cli_load_of_an_empty_lake_fails_instead_of_loading_the_crosswalk(prefect_harness):
    result = CliRunner().invoke(app, ["load"])
    assert result.exit_code == 1
    assert "holds no published CNPJ release" in result.output
