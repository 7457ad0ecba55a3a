"""The scale benchmark runs as a user runs it, at a small size, so it cannot rot: one
command, the whole pipeline on the project's Prefect server, a table of every stage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.bench_pipeline import STAGE_FLOWS
from tests.cli_helpers import ROOT, cli_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
ESTABLISHMENTS = 2_500  # the smallest sample whose analysis has prospects to score


def test_the_pipeline_benchmark_measures_every_stage_at_a_small_size(tmp_path):
    figures_file = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_pipeline", "--establishments",
         str(ESTABLISHMENTS), "--out", str(tmp_path / "work"), "--json", str(figures_file)],
        cwd=ROOT, env=cli_env(tmp_path / "unused"), capture_output=True, text=True,
        timeout=580, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    stages = figures["stages"]
    assert list(stages) == ["generate", *STAGE_FLOWS]
    for stage in stages:  # one table row per stage, with its own figures
        assert any(line.lstrip("│┃ ").startswith(stage) for line in done.stdout.splitlines())
    assert "target <= 600" in done.stdout and "target <= 4,000" in done.stdout

    manifest = json.loads((tmp_path / "work" / "sample" / "MANIFEST.json").read_text())
    assert stages["generate"]["rows"] == ESTABLISHMENTS == figures["establishments"]
    assert manifest["establishments"] == ESTABLISHMENTS
    totals = figures["totals"]
    assert stages["CNPJ"]["rows"] == sum(totals["cnpj"]["tables"].values()) > ESTABLISHMENTS
    assert stages["analysis"]["rows"] == totals["analysis"]["prospects_scored"] > 0
    assert stages["publish"]["rows"] == sum(totals["publish"]["messages"].values()) > 0

    # Every stage took time inside the pipeline's run, and the peaks are of all processes:
    # the overall peak is the highest, and a stage's peak includes the Prefect server.
    pipeline = figures["pipeline"]
    for name in STAGE_FLOWS:
        assert 0 < stages[name]["seconds"] < pipeline["seconds"], name
        assert 0 < stages[name]["peak"] <= pipeline["peak"] <= figures["peak"], name
    assert sum(stages[name]["seconds"] for name in STAGE_FLOWS) <= pipeline["seconds"]
    assert stages["analysis"]["peak"] > stages["generate"]["peak"]  # server + kernel
    # The target is read on PSS (shared pages split between their processes), never more
    # than the plain RSS sum printed beside it.
    for row in [*stages.values(), pipeline, figures]:
        assert 0 < row["peak"] <= row["peak_rss"]
