"""F4: a run's work folder (papermill's outputs: row-level data) never outlives the run,
whether it fails or is killed with -9."""

from __future__ import annotations

import pytest

from flows.workdirs import work_folder
from tests.faults.killing import kill_when_stopped

CHILD = """
from pathlib import Path
from flows.workdirs import work_folder
from tests.faults.killing import stop_here

with work_folder("bigd-analysis-", Path({parent!r})) as work:
    (work / "top_prospects.parquet").write_bytes(b"row-level data")
    stop_here()
"""


def test_a_failing_run_removes_its_work_folder(tmp_path):
    with pytest.raises(RuntimeError, match="cell failed"), work_folder("bigd-x-", tmp_path) as work:
        (work / "top_prospects.parquet").write_bytes(b"rows")
        raise RuntimeError("cell failed")
    assert list(tmp_path.iterdir()) == []


def test_a_run_after_a_kill_removes_the_dead_runs_folder_only(tmp_path):
    kill_when_stopped(CHILD.format(parent=str(tmp_path)), tmp_path / "stop", {})
    (tmp_path / "stop").unlink()
    [left] = list(tmp_path.glob("bigd-analysis-*"))
    assert (left / "top_prospects.parquet").exists()  # what kill -9 leaves behind
    stranger = tmp_path / "bigd-analysis-not-ours"  # no lock file: not provably ours
    stranger.mkdir()
    with work_folder("bigd-analysis-", tmp_path) as work:
        with work_folder("bigd-analysis-", tmp_path) as other:  # a live run is never removed
            assert work.exists() and other.exists()
        assert not left.exists()
    assert sorted(tmp_path.iterdir()) == [stranger]
