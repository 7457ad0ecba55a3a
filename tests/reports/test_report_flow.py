"""The delivery flows on Prefect's temporary server: publish to the outbox, render and
archive the infographic, announce it; a failing notebook is archived, then fails."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.config import get_settings
from flows.lake import Lake
from flows.publish import DeliveryLedger
from flows.publish.outbox import OutboxPublisher
from tests.analysis_outputs import write_outputs
from tests.reports.mart import write_mart

pytestmark = pytest.mark.integration


def use_lake(tmp_path, monkeypatch, warehouse_url: str) -> Lake:
    monkeypatch.setenv("BIGD_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    return Lake.from_url(str(tmp_path / "lake"))


def test_deliver_analysis_publishes_and_renders(prefect_harness, tmp_path, monkeypatch):
    from flows.report_flow import deliver_analysis

    lake = use_lake(tmp_path, monkeypatch, write_mart(tmp_path / "warehouse.duckdb"))
    write_outputs(lake, "analysis/run-9", run_id="run-9")
    expected = {  # counted from the files, independently of the publisher
        name: pq.read_metadata(
            lake.path(f"analysis/run-9/{name}.parquet"), filesystem=lake.filesystem
        ).num_rows
        for name in ("potential_by_region", "prospects")
    }
    metrics = json.loads(lake.read_bytes("analysis/run-9/metrics.json"))

    result = deliver_analysis(analysis_dir="analysis/run-9")

    assert result["published"] == {
        "bigd.potential": expected["potential_by_region"],
        "bigd.prospects": expected["prospects"],
        "bigd.model-metrics": 1,
    }
    assert result["index"].endswith("reports/index.html")
    assert lake.exists("reports/latest/infographic.html")
    outbox = OutboxPublisher(lake)
    [announcement] = list(outbox.read("bigd.reports"))
    assert announcement["payload"]["status"] == "succeeded"
    assert (
        announcement["payload"]["headline"]["prospects_scored"]
        == metrics["headline"]["prospects_scored"]
    )
    assert announcement["payload"]["status"] == "succeeded"
    latest = lake.read_bytes("reports/latest/infographic.html").decode()
    assert "Quem ligar primeiro" in latest and "Cerveja, Vinho, Arroz" in latest
    assert set(DeliveryLedger(lake).deliveries("run-9")) == {
        "bigd.potential",
        "bigd.prospects",
        "bigd.model-metrics",
    }


def test_a_failing_infographic_is_archived_as_failed(prefect_harness, tmp_path, monkeypatch):
    from flows.report_flow import ReportFailed, render_infographic

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()  # no mart views: the notebook's query fails
    lake = use_lake(tmp_path, monkeypatch, f"duckdb:///{empty}")

    with pytest.raises(ReportFailed, match="infographic failed"):
        render_infographic(run_id="broken-1")

    [manifest_obj] = [o for o in lake.list("reports") if o.key.endswith("manifest.json")]
    manifest = json.loads(lake.read_bytes(manifest_obj.key))
    assert manifest["status"] == "failed"
    assert "mart" in manifest["error"]
    assert lake.exists(manifest_obj.key.replace("manifest.json", "marketing.html"))
    index = lake.read_bytes("reports/index.html").decode()
    assert "falhou" in index and "broken-1" in index
    [announcement] = list(OutboxPublisher(lake).read("bigd.reports"))
    assert announcement["payload"]["status"] == "failed"
