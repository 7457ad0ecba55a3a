"""A renamed field of a contract fails the type check, not a production run.

Runs the project's own mypy configuration (pyproject.toml, with the pydantic plugin) on
small snippets that use the contracts the way the flows do; a wrong field name must be an
error, the right ones must pass (so the check cannot pass by checking nothing).

The run uses exactly the options of ``scripts/test``'s own ``mypy`` run (no option on the
command line but the files), so it reads that run's ``.mypy_cache`` in the checkout: only
the snippets are checked, everything they import (flows, pydantic, Prefect) comes from the
cache (seconds). Any other option (``--follow-imports=silent`` was one) changes the cache's
key and mypy checks every imported module again from scratch (2-3 minutes on 2 cores).
Run on its own without that cache, the test still works, cold.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # one mypy run: seconds after scripts/test's, minutes cold
ROOT = Path(__file__).resolve().parents[1]

GOOD = """
    from flows.analysis_flow import AnalysisSummary
    from flows.contracts import DeliveryEntry, ReportManifest, ReportRecord

    def delivery_folder(summary: AnalysisSummary) -> str:
        return summary.analysis.outputs

    def committed(manifest: ReportManifest) -> bool:
        return manifest.succeeded and "mart" in manifest.stages

    def link(record: ReportRecord) -> str:
        return record.marketing_html

    entry = DeliveryEntry(
        run_id="r", topic="t", messages=1, target="outbox", delivered_at="2026-12-01T00:00:00Z"
    )
"""
WRONG = {
    "a renamed field read from the analysis summary": (
        "from flows.analysis_flow import AnalysisSummary\n"
        "def f(summary: AnalysisSummary) -> str:\n"
        "    return summary.analysis.output_dir\n",
        '"AnalysisTotals" has no attribute "output_dir"',
    ),
    "a misspelt manifest field": (
        "from flows.contracts import ReportManifest\n"
        "def f(manifest: ReportManifest) -> str:\n"
        "    return manifest.stauts\n",
        '"ReportManifest" has no attribute "stauts"',
    ),
    "a stage that does not exist": (
        "from flows.contracts import ReportManifest\n"
        "def f(manifest: ReportManifest) -> ReportManifest:\n"
        '    return manifest.with_stage("published")\n',
        "incompatible type \"Literal['published']\"",
    ),
    "a ledger entry built with an old field name": (
        "from flows.contracts import DeliveryEntry\n"
        'DeliveryEntry(run_id="r", topic="t", count=1, target="x", delivered_at="now")\n',
        'Unexpected keyword argument "count"',
    ),
    "the analysis totals read by key as before": (
        "from flows.analysis_flow import AnalysisSummary\n"
        "def f(summary: AnalysisSummary) -> str:\n"
        '    return summary.analysis["outputs"]\n',
        'Value of type "AnalysisTotals" is not indexable',
    ),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> dict[str, str]:
    """mypy run once over every snippet (one module each): ``{module: its errors}``."""
    folder = tmp_path_factory.mktemp("snippets")
    modules = {"good": GOOD} | {
        f"wrong_{number}": source for number, (source, _) in enumerate(WRONG.values())
    }
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    done = subprocess.run(  # in ROOT: its .mypy_cache, with scripts/test's options
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml",
         *(str(folder / f"{name}.py") for name in modules)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert "error: " in done.stdout or done.returncode == 0, done.stdout + done.stderr
    errors = {name: "" for name in modules}
    for line in done.stdout.splitlines():
        module = Path(line.split(":", 1)[0]).stem
        if module in errors:
            errors[module] += line + "\n"
    return errors


def test_the_contracts_as_the_flows_use_them_type_check(checked):
    assert checked["good"] == ""


@pytest.mark.parametrize("number", range(len(WRONG)), ids=list(WRONG))
def test_a_wrong_field_fails_the_type_check(checked, number):
    _, error = list(WRONG.values())[number]
    assert error in checked[f"wrong_{number}"], checked[f"wrong_{number}"]
