"""The report archive: keys, manifests, latest pages and the index; on a real S3 API
(moto server) also the content type and the server-side encryption header."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from flows.contracts import ReportManifest
from flows.lake import Lake
from flows.reports.archive import ReportStore, report_store
from flows.reports.render import ExecutedNotebook

STARTED = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)


def executed(error: str | None = None) -> ExecutedNotebook:
    notebook = new_notebook(cells=[new_markdown_cell("# Teste")])
    run = ExecutedNotebook(
        notebook=notebook,
        parameters={"analysis_dir": "analysis/run-1"},
        started_at=STARTED,
        duration_seconds=3.2,
        error=error,
    )
    run.html = {"analyst": "<html>analista</html>", "marketing": "<html>marketing</html>"}
    return run


def archive_two_runs(store: ReportStore) -> list[ReportManifest]:
    notebook_bytes = nbformat.writes(executed().notebook).encode()
    good = store.archive(
        "infographic",
        "run-1",
        executed(),
        notebook_bytes,
        outputs={"metrics.json": b"{}"},
        headline={"ensemble_r2": 0.62, "prospects_scored": 12345},
    )
    bad = store.archive("infographic", "run-2", executed("ValueError: sem dados"), notebook_bytes)
    return [good, bad]


EXPECTED_KEYS = {
    "reports/index.html",
    "reports/latest/infographic.html",
    "reports/latest/infographic.analyst.html",
    "reports/infographic/2026-11-30/run-1/infographic.ipynb",
    "reports/infographic/2026-11-30/run-1/analyst.html",
    "reports/infographic/2026-11-30/run-1/marketing.html",
    "reports/infographic/2026-11-30/run-1/manifest.json",
    "reports/infographic/2026-11-30/run-1/outputs/metrics.json",
    "reports/infographic/2026-11-30/run-2/infographic.ipynb",
    "reports/infographic/2026-11-30/run-2/analyst.html",
    "reports/infographic/2026-11-30/run-2/marketing.html",
    "reports/infographic/2026-11-30/run-2/manifest.json",
}


def check_archive(lake: Lake, manifests: list[ReportManifest]) -> None:
    assert {obj.key for obj in lake.list("reports")} == EXPECTED_KEYS
    stored = json.loads(lake.read_bytes("reports/infographic/2026-11-30/run-2/manifest.json"))
    assert stored["status"] == "failed"
    assert stored["error"] == "ValueError: sem dados"
    assert stored["parameters"] == {"analysis_dir": "analysis/run-1"}
    assert manifests[0].headline["prospects_scored"] == 12345
    index = lake.read_bytes("reports/index.html").decode()
    assert 'href="infographic/2026-11-30/run-1/marketing.html"' in index
    assert 'href="infographic/2026-11-30/run-2/analyst.html"' in index
    assert "falhou" in index and "última versão concluída continua" in index
    assert "ValueError" not in index  # the technical error is for analysts (manifest)
    assert "12.345 prospects avaliados" in index and "R²" not in index and "RMSE" not in index
    assert 'href="latest/infographic.html"' in index and "Para marketing e vendas" in index
    assert lake.read_bytes("reports/latest/infographic.html") == b"<html>marketing</html>"


def test_archive_in_a_folder_lake(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    check_archive(lake, archive_two_runs(report_store(lake)))


@pytest.mark.integration
def test_archive_on_s3_sets_content_type_and_encryption(s3_bucket):
    endpoint, bucket = s3_bucket
    lake = Lake.from_url(f"s3://{bucket}/bigd", endpoint)
    check_archive(lake, archive_two_runs(report_store(lake, endpoint)))
    client = boto3.client("s3", endpoint_url=endpoint)
    for key in EXPECTED_KEYS:
        head = client.head_object(Bucket=bucket, Key=f"bigd/{key}")
        assert head["ServerSideEncryption"] == "AES256", key
        if key.endswith(".html"):
            assert head["ContentType"] == "text/html; charset=utf-8", key
    manifest = client.head_object(
        Bucket=bucket, Key="bigd/reports/infographic/2026-11-30/run-1/manifest.json"
    )
    assert manifest["ContentType"] == "application/json"


def test_a_failed_run_leaves_latest_byte_identical_and_the_door_on_the_good_run(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    store = report_store(lake)
    notebook_bytes = nbformat.writes(executed().notebook).encode()
    store.archive("infographic", "run-1", executed(), notebook_bytes)
    before = {
        key: lake.read_bytes(key)
        for key in ("reports/latest/infographic.html", "reports/latest/infographic.analyst.html")
    }
    failed = executed("ValueError: sem dados")
    failed.html = {"analyst": "<html>erro</html>", "marketing": "<html>falhou</html>"}
    store.archive("infographic", "run-2", failed, notebook_bytes)

    assert {key: lake.read_bytes(key) for key in before} == before
    index = lake.read_bytes("reports/index.html").decode()
    door = index.split("<h2>Todas")[0]
    assert "run-2" not in door and "atualizado em 30/11/2026" in door


def test_only_a_failed_run_gives_no_latest_page(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    store = report_store(lake)
    store.archive("infographic", "run-1", executed("KeyError: x"), b"{}")
    assert not lake.exists("reports/latest/infographic.html")
    assert "Nenhuma execução concluída ainda" in lake.read_bytes("reports/index.html").decode()


def test_files_the_analysis_flow_already_kept_are_not_written_twice(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    folder = "reports/analysis/2026-11-30/run-1"
    lake.write_bytes(f"{folder}/demand_ensemble.ipynb", b"kept")
    lake.write_bytes(f"{folder}/outputs/metrics.json", b"{}")
    manifest = report_store(lake).archive(
        "analysis",
        "run-1",
        executed(),
        b"rewritten",
        outputs={"metrics.json": b"{}"},
        kept=frozenset({"demand_ensemble.ipynb", "outputs/metrics.json"}),
        notebook_file="demand_ensemble.ipynb",
    )
    notebooks = [obj.key for obj in lake.list("reports/analysis") if obj.key.endswith(".ipynb")]
    assert notebooks == [f"{folder}/demand_ensemble.ipynb"]
    assert lake.read_bytes(notebooks[0]) == b"kept"
    assert manifest.files.notebook == "demand_ensemble.ipynb"


def test_the_model_card_door_opens_it_rendered_in_the_analysis_page(tmp_path):
    """The index linked the raw model_card.md (Markdown source in a browser) from both
    doors; the card is rendered at the end of the analysis page, for analysts."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    store = report_store(lake)
    card = {"model_card.md": b"# Ficha do modelo\n", "metrics.json": b"{}"}
    store.archive("analysis", "run-1", executed(), b"{}", outputs=card)
    store.archive("infographic", "run-2", executed(), b"{}", outputs=card)
    index = lake.read_bytes("reports/index.html").decode()
    marketing, analysts = index.split("<h2>Todas")[0].split("Para analistas")
    assert "ficha do modelo" not in marketing
    assert 'href="latest/analysis.html#Ficha-do-modelo">ficha do modelo<' in analysts
    assert "model_card.md" not in index.split("<h2>Todas")[0]
