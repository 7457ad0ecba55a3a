"""Committed notebooks carry no outputs, and the analysis notebook declares its parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from flows.analysis import charts

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
DECLARED = [
    "run_id",
    "release",
    "categories",
    "window_start",
    "window_end",
    "months",
    "cv_folds",
    "random_seed",
    "output_dir",
    "sample_size",
    "hidden_share",
    "top_n",
    "scoring_chunk",
    "scoring_cluster",
    "lightgbm_trees",
    "forest_trees",
    "forest_depth",
    "conversion_trees",
]


def test_there_is_a_notebook():
    assert any(path.name == "demand_ensemble.ipynb" for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {number} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {number} was executed"
    assert "papermill" not in notebook.metadata, f"{path.name} is an executed (papermill) copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_one_parameters_cell_without_secrets(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for word in ("password", "secret", "key =", "token", "://"):
        assert word not in tagged[0].source.lower()


def test_the_analysis_notebook_declares_the_schedules_parameters():
    import papermill

    path = next(p for p in NOTEBOOKS if p.name == "demand_ensemble.ipynb")
    assert list(papermill.inspect_notebook(str(path))) == DECLARED


def test_calibration_by_decile_groups_by_prediction():
    predicted = np.arange(1, 101, dtype=float)
    table = charts.calibration_by_decile(predicted * 2, predicted)
    assert table["rows"].tolist() == [10] * 10
    assert table["observed"].tolist() == pytest.approx((table["predicted"] * 2).tolist())
