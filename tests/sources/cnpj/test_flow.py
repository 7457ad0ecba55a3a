"""The ``ingest_cnpj`` flow for real under Prefect: threads, then a Dask cluster."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from flows.config import get_settings
from flows.lake import Lake
from tests.cnpj_fixtures import establishment, receita_line, write_release

pytestmark = pytest.mark.integration


def trusted_tables(lake: Lake, release: str) -> dict[str, object]:
    prefix = f"trusted/cnpj/{release}"
    tables = sorted({o.key.split("/")[3] for o in lake.list(prefix) if o.key.count("/") == 4})
    return {table: pq.read_table(lake.path(f"{prefix}/{table}")) for table in tables}


def test_flow_runs_and_dask_matches_threads(tmp_path, monkeypatch, prefect_harness):
    from distributed import LocalCluster

    from flows.cnpj_flow import ingest_cnpj

    bad = establishment(4)
    bad[6] = "20251340"
    write_release(
        tmp_path / "src",
        rows_per_file=60,
        bad_lines={"Estabelecimentos1.zip": {4: receita_line(bad)}},
    )
    monkeypatch.setenv("BIGD_MAX_BAD_ROW_RATE", "0.05")
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "threads"))
    get_settings.cache_clear()
    summary = ingest_cnpj("2026-05", source=str(tmp_path / "src"))
    threads = Lake.from_url(str(tmp_path / "threads"))
    assert summary.totals["tables"]["estabelecimentos"] == 119
    assert summary.totals["rows_quarantined"] == 1
    bad_file = next(row for row in summary.rows if row["file"] == "Estabelecimentos1.zip")
    assert bad_file["rows quarantined"] == 1
    assert summary.scrub is not None and summary.scrub.to_rows()  # the policy ran
    assert threads.exists("quarantine/cnpj/2026-05/Estabelecimentos1.jsonl")
    assert (
        "correio_eletronico"
        not in trusted_tables(threads, "2026-05")["estabelecimentos"].schema.names
    )

    with LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("BIGD_TASK_RUNNER", "dask")
        monkeypatch.setenv("BIGD_DASK_ADDRESS", cluster.scheduler_address)
        monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "dask"))
        get_settings.cache_clear()
        on_dask = ingest_cnpj("2026-05", source=str(tmp_path / "src"))
    dask_lake = Lake.from_url(str(tmp_path / "dask"))
    assert on_dask.rows == summary.rows
    expected, got = trusted_tables(threads, "2026-05"), trusted_tables(dask_lake, "2026-05")
    assert expected.keys() == got.keys() and len(expected) == 10
    for table in expected:
        assert got[table].equals(expected[table]), table
