"""The papermill runner: parameter checks, run ids, lake keys, failures and time limits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest

from flows import notebooks as runner
from flows.lake import Lake


def _notebook(path: Path, *sources: str, parameters: str = "x = 1\ny = None") -> Path:
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[cell, *(nbformat.v4.new_code_cell(source) for source in sources)]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    nbformat.write(notebook, path)
    return path


def test_parameters_must_match_the_notebooks_declared_ones(tmp_path):
    notebook = _notebook(tmp_path / "n.ipynb")
    runner.check_parameters(notebook, {"x": 2, "y": "a"})
    with pytest.raises(runner.NotebookParameterError, match=r"unknown parameter\(s\) z"):
        runner.check_parameters(notebook, {"x": 2, "y": 1, "z": 3})
    with pytest.raises(runner.NotebookParameterError, match=r"missing parameter\(s\) y"):
        runner.check_parameters(notebook, {"x": 2})
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(bare, tmp_path / "bare.ipynb")
    with pytest.raises(runner.NotebookParameterError, match="no cell tagged"):
        runner.check_parameters(tmp_path / "bare.ipynb", {})


def test_run_ids_and_where_a_run_is_kept(tmp_path):
    run_id = runner.new_run_id(dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC))
    assert run_id.startswith("20261201T103000Z-") and len(run_id) == 25
    assert runner.report_prefix("r-1", dt.date(2026, 12, 1)) == "reports/analysis/2026-12-01/r-1"
    for bad in ("", "../x", "a/b", "x" * 65):
        with pytest.raises(runner.NotebookParameterError):
            runner.check_run_id(bad)
    folder = tmp_path / "record"
    (folder / "outputs").mkdir(parents=True)
    (folder / "n.ipynb").write_text("{}")
    (folder / "outputs" / "metrics.json").write_text("{}")
    lake = Lake.from_url(str(tmp_path / "lake"))
    keys = runner.keep(lake, "reports/analysis/2026-12-01/r-1", folder)
    assert keys == [
        "reports/analysis/2026-12-01/r-1/n.ipynb",
        "reports/analysis/2026-12-01/r-1/outputs/metrics.json",
    ]


@pytest.mark.slow
def test_execute_runs_with_parameters_and_reports_a_failing_cell(tmp_path):
    notebook = _notebook(tmp_path / "n.ipynb", "print(x * 2)", "assert y == 'ok', 'y was ' + y")
    done = runner.execute(notebook, tmp_path / "out" / "n.ipynb", {"x": 21, "y": "ok"},
                          cell_timeout=60, time_limit=120)  # fmt: skip
    outputs = nbformat.read(done, as_version=4).cells[2].outputs  # after the injected cell
    assert outputs[0]["text"].strip() == "42"
    with pytest.raises(runner.NotebookFailed, match="AssertionError: y was no"):
        runner.execute(notebook, tmp_path / "failed.ipynb", {"x": 1, "y": "no"},
                       cell_timeout=60, time_limit=120)  # fmt: skip
    assert (tmp_path / "failed.ipynb").is_file()


@pytest.mark.slow
def test_a_notebook_past_its_wall_clock_limit_fails_and_is_kept(tmp_path):
    notebook = _notebook(tmp_path / "n.ipynb", "import time", "time.sleep(60)")
    with pytest.raises(runner.NotebookFailed, match="wall-clock limit of 4 s"):
        runner.execute(notebook, tmp_path / "slow.ipynb", {"x": 1, "y": None},
                       cell_timeout=600, time_limit=4)  # fmt: skip
    assert (tmp_path / "slow.ipynb").is_file()


def test_the_cli_rejects_a_bad_run_id_before_starting_anything():
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["analyze", "--run-id", "../escape"])
    assert result.exit_code == 2
    assert "run id" in result.output


@pytest.mark.slow
def test_a_cell_past_its_own_timeout_is_named_as_such(tmp_path):
    notebook = _notebook(tmp_path / "n.ipynb", "import time; time.sleep(60)")
    with pytest.raises(runner.NotebookFailed, match="a cell ran past 3 s"):
        runner.execute(notebook, tmp_path / "slow.ipynb", {"x": 1, "y": None},
                       cell_timeout=3, time_limit=600)  # fmt: skip
