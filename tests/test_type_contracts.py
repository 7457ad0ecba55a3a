"""A renamed field of a contract fails the type check, not a production run.

Runs the project's own mypy configuration (pyproject.toml, with the pydantic plugin) on
small snippets that use the contracts the way the flows do; a wrong field name must be an
error, the right ones must pass (so the check cannot pass by checking nothing).

One difference, for time: mypy reads only what the contracts are made of, ``flows`` itself
(its own errors silenced: ``scripts/test``'s mypy run reports them), pydantic (whose models
the plugin must see) and the standard library's stubs; other packages (Prefect, pandas,
...) are skipped (``Any``), with a cache of its own. Following them all took 2-3 minutes of
a cold mypy run on 2 cores, and the cache of ``scripts/test``'s run does not spare it
(mypy rechecks most of those packages when the set of files checked differs).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Followed (and checked) in full: the contracts' own building blocks.
FOLLOWED = ["pydantic", "pydantic.*", "pydantic_core", "pydantic_core.*", "annotated_types",
            "typing_extensions"]  # fmt: skip


def _ini(section: str, options: dict[str, object]) -> list[str]:
    values = {k: ", ".join(map(str, v)) if isinstance(v, list) else str(v)
              for k, v in options.items()}  # fmt: skip
    return [f"[{section}]", *(f"{k} = {v}" for k, v in values.items())]


def snippet_config(pyproject: Path) -> str:
    """The project's mypy configuration as a mypy.ini, every option and per-module
    override kept, plus: other packages' modules skipped, ``flows`` silenced, pydantic
    followed."""
    tool = tomllib.loads(pyproject.read_text())["tool"]
    options = {k: v for k, v in tool["mypy"].items() if k not in ("files", "overrides")}
    lines = _ini("mypy", options | {"follow_imports": "skip"})
    for override in tool["mypy"].get("overrides", []):
        modules = override["module"]
        modules = ",".join(modules) if isinstance(modules, list) else modules
        lines += _ini(f"mypy-{modules}", {k: v for k, v in override.items() if k != "module"})
    lines += _ini("mypy-flows,flows.*", {"follow_imports": "silent"})
    lines += _ini(f"mypy-{','.join(FOLLOWED)}", {"follow_imports": "normal"})
    lines += _ini("pydantic-mypy", tool["pydantic-mypy"])
    return "\n".join(lines) + "\n"


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
    ini = folder / "mypy.ini"
    ini.write_text(snippet_config(ROOT / "pyproject.toml"))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ini), "--cache-dir",
         str(folder / "cache"), *(str(folder / f"{name}.py") for name in modules)],
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
