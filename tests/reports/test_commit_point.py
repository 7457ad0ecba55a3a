"""A run's manifest is its commit point (flows.contracts): a run killed before it is
never delivered, never listed as succeeded and never linked from ``reports/latest/``;
a run whose mart never loaded is listed as failed, with the stages it completed.

The killed run is what a kill -9 between "outputs kept in the lake" and "manifest
written" leaves: its executed notebook and output files, kept by the runner's own
``keep``, and no manifest. Before the commit point, the default delivery published the
newest ``outputs/metrics.json`` whatever its run's fate.
"""

from __future__ import annotations

import datetime as dt

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from flows import layout
from flows import notebooks as runner
from flows.config import get_settings
from flows.contracts import ReportManifest
from flows.lake import Lake
from flows.publish.outbox import OutboxPublisher
from flows.reports.archive import ReportStore, report_store
from flows.reports.render import ExecutedNotebook
from flows.reports.run import new_run_id
from tests.analysis_outputs import write_outputs

DAY = dt.date(2026, 11, 30)
STARTED = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)


def executed(html: str, error: str | None = None) -> ExecutedNotebook:
    run = ExecutedNotebook(
        notebook=new_notebook(cells=[new_markdown_cell("# Análise")]),
        parameters={},
        started_at=STARTED,
        duration_seconds=1.0,
        error=error,
    )
    run.html = {"analyst": f"<html>{html} analista</html>", "marketing": f"<html>{html}</html>"}
    return run


def analysis_run(store: ReportStore, run_id: str, *, stages, error=None) -> ReportManifest:
    """An analysis run archived as ``run_analysis`` archives it: outputs kept, then the
    manifest last, with the stages it completed."""
    folder = layout.analysis_run_folder(DAY, run_id)
    write_outputs(store.lake, layout.outputs_prefix(folder), run_id=run_id)
    notebook = nbformat.writes(executed(run_id).notebook).encode()
    outputs = {
        obj.key.rsplit("/", 1)[1]: store.lake.read_bytes(obj.key)
        for obj in store.lake.list(layout.outputs_prefix(folder))
    }
    return store.archive(
        layout.ANALYSIS,
        run_id,
        executed(run_id),
        notebook,
        outputs=outputs,
        stages=stages,
        error=error,
        analysis_dir=layout.outputs_prefix(folder),
        report_date=DAY.isoformat(),
    )


def killed_run(lake: Lake, tmp_path, run_id: str) -> str:
    """What a run killed after keeping its files and before its manifest leaves."""
    record = tmp_path / run_id
    (record / "outputs").mkdir(parents=True)
    nbformat.write(executed(run_id).notebook, record / "demand_ensemble.ipynb")
    scratch = Lake.from_url(str(tmp_path / f"{run_id}-outputs"))
    write_outputs(scratch, "outputs", run_id=run_id)
    for obj in scratch.list("outputs"):
        (record / obj.key).write_bytes(scratch.read_bytes(obj.key))
    folder = layout.analysis_run_folder(DAY + dt.timedelta(days=1), run_id)  # newer
    runner.keep(lake, folder, record)
    return folder


@pytest.fixture
def lake_with_a_killed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("BIGD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    lake = Lake.from_url(str(tmp_path / "lake"))
    store = report_store(lake)
    good = analysis_run(store, "good-1", stages=["notebook", "mart", "reports"])
    killed = killed_run(lake, tmp_path, "killed-2")
    yield lake, store, good, killed
    get_settings.cache_clear()


def test_a_killed_run_is_never_the_latest_analysis(lake_with_a_killed_run):
    from flows.report_flow import latest_analysis_outputs

    lake, store, good, killed = lake_with_a_killed_run
    assert lake.exists(f"{killed}/outputs/metrics.json")  # newer, and complete on disk
    assert latest_analysis_outputs(store) == f"{good.folder}/outputs"


def test_a_killed_run_is_never_delivered(lake_with_a_killed_run):
    from flows.report_flow import RunNotCommitted, publish_task

    lake, _, _, killed = lake_with_a_killed_run
    counts = publish_task.fn("")  # the scheduled delivery: no folder given
    assert counts["bigd.model-metrics"] == 1
    published = {m["run_id"] for m in OutboxPublisher(lake).read("bigd.model-metrics")}
    assert published == {"good-1"}
    with pytest.raises(RunNotCommitted, match="no manifest"):
        publish_task.fn(f"{killed}/outputs")  # not even when named
    assert {m["run_id"] for m in OutboxPublisher(lake).read("bigd.prospects")} == {"good-1"}
    # the delivered run's record now says it was published, and so does the index
    [manifest] = store_manifests(lake)
    assert manifest.stages == ["notebook", "mart", "reports", "publish"]


def store_manifests(lake: Lake) -> list[ReportManifest]:
    return report_store(lake).manifests()


def test_a_killed_run_is_not_listed_nor_linked_from_latest(lake_with_a_killed_run):
    lake, store, _, _ = lake_with_a_killed_run
    store.write_index()  # as any later run does
    assert [m.run_id for m in store.manifests()] == ["good-1"]
    index = lake.read_bytes(layout.REPORTS_INDEX).decode()
    assert "good-1" in index and "killed-2" not in index
    assert lake.read_bytes(layout.latest_page_key(layout.ANALYSIS)) == b"<html>good-1</html>"


def test_a_run_whose_mart_never_loaded_is_failed_in_the_index(tmp_path):
    """Before: the notebook's own status made the run "concluído" though its mart rows
    were never loaded (broker down, or DuckDB's lock held by another analysis)."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    store = report_store(lake)
    analysis_run(store, "good-1", stages=["notebook", "mart", "reports"])
    failed = analysis_run(
        store,
        "no-mart-2",
        stages=["notebook", "reports"],
        error="mart: OperationalError: could not set lock",
    )
    assert failed.status == "failed" and failed.stages == ["notebook", "reports"]
    index = lake.read_bytes(layout.REPORTS_INDEX).decode()
    row = index[index.index("no-mart-2") :].split("</tr>")[0]
    assert "falhou" in row and "concluído" not in row
    assert "notebook ✓ · mart — · publicação — · relatórios ✓" in row
    # the index says it failed in one plain line (i20); the technical error is the
    # manifest's, for analysts
    assert "mart: OperationalError" not in row and "A execução falhou" in row
    assert store.manifest_of(failed.folder).error == "mart: OperationalError: could not set lock"
    runs = index.split("<tbody>", 1)[1]  # the table of runs (the front doors come first)
    good_row = runs[runs.index("good-1") :].split("</tr>")[0]
    assert "concluído" in good_row and "mart ✓" in good_row
    # latest/ still shows the run that committed, and delivery takes it, never the other
    assert lake.read_bytes(layout.latest_page_key(layout.ANALYSIS)) == b"<html>good-1</html>"
    from flows.report_flow import RunNotCommitted, committed_analysis, latest_analysis_outputs

    assert latest_analysis_outputs(store) == layout.outputs_prefix(
        layout.analysis_run_folder(DAY, "good-1")
    )
    with pytest.raises(RunNotCommitted, match="its run failed"):
        committed_analysis(store, layout.outputs_prefix(failed.folder))


def test_two_renders_in_the_same_second_get_distinct_ids(tmp_path):
    """Before: ``infographic-<second>``, so the second render overwrote the first."""
    now = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    ids = {layout.new_run_id(now) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(run_id.startswith("20261201T103000Z-") for run_id in ids)
    first, second = new_run_id("infographic"), new_run_id("infographic")
    assert (first != second and first[:16] == second[:16]) or first[:16] != second[:16]
    store = report_store(Lake.from_url(str(tmp_path / "lake")))
    notebook = nbformat.writes(executed("x").notebook).encode()
    for run_id in (first, second):
        store.archive("infographic", run_id, executed(run_id), notebook)
    assert sorted(m.run_id for m in store.manifests()) == sorted([first, second])


def test_a_rerun_of_a_run_id_replaces_its_record(tmp_path):
    """Run ids the flows make never repeat; one given again on purpose re-runs that run:
    its manifest is withdrawn first, so the folder is never read half-replaced."""
    store = report_store(Lake.from_url(str(tmp_path / "lake")))
    notebook = nbformat.writes(executed("x").notebook).encode()
    store.archive("infographic", "r-1", executed("first"), notebook)
    assert store.withdraw(layout.report_folder("infographic", "2026-11-30", "r-1"))
    assert store.manifests() == []
    assert "r-1" not in store.lake.read_bytes(layout.REPORTS_INDEX).decode()
    store.archive("infographic", "r-1", executed("second"), notebook)
    assert [m.run_id for m in store.manifests()] == ["r-1"]
    assert store.lake.read_bytes(layout.latest_page_key("infographic")) == b"<html>second</html>"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "x" * 65, "-x"])
def test_run_ids_are_checked_on_every_path(bad):
    with pytest.raises(layout.RunIdError):
        layout.report_folder("infographic", "2026-11-30", bad)
    with pytest.raises(layout.RunIdError):
        layout.publish_ledger_key(bad, "bigd.prospects")
