"""Fixtures of the report tests."""

from __future__ import annotations

import os

import pytest

from flows.config import get_settings
from flows.lake import Lake
from flows.reports.archive import report_store
from flows.reports.run import make_report
from tests.analysis_outputs import write_outputs
from tests.reports.browser import find_chromium
from tests.reports.mart import write_mart


@pytest.fixture
def render_infographic(tmp_path, monkeypatch):
    """``render_infographic(**parameters) -> (lake, store, manifest)``: the real infographic
    notebook rendered from a small mart and analysis run, archived in a folder lake."""
    monkeypatch.setenv("BIGD_WAREHOUSE_URL", write_mart(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    lake = Lake.from_url(str(tmp_path / "lake"))
    write_outputs(lake, "analysis/run-1", run_id="run-1")
    store = report_store(lake)

    def render(**parameters):
        parameters = {"analysis_dir": "analysis/run-1", **parameters}
        manifest = make_report(store, "infographic", parameters, "ig-1", "analysis/run-1")
        return lake, store, manifest

    return render


@pytest.fixture
def chromium():
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium: .ci/run installs Debian's chromium package")
        pytest.skip("no chromium on this machine (apt-get install -y chromium)")
    return executable
