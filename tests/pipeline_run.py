"""The whole pipeline, run ONCE per test session, for every end-to-end check to read.

``bigd demo``'s own code (:func:`flows.demo.run_demo`) generates a release of a seed and
size not used in development, with personal data planted in it (``tests.analysis.canary``),
serves it over the partner API, ingests, scrubs, loads, analyses (the papermill notebook),
publishes to the lake's outbox and renders the reports, on the session's Prefect server.
The checks of the demo's output, of the analysis and of its delivery read this one run
instead of each running the pipeline again (the demo's and the analysis's tests each ran
it before).

Tests that use the fixture share one work folder: they run on one pytest-xdist worker
(the ``pipeline`` group, see ``tests/conftest.py``), one after the other, and a test that
adds to the run (a re-run of the analysis) must not break what the others check.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SEED, ESTABLISHMENTS = 2027, 12_000  # development used seed 7 (5,000 and 20,000)
# The session's first test that reads the run also waits for it (about 2-4 minutes).
SETUP_TIMEOUT = 900


@dataclass
class PipelineRun:
    """What the session's one run of the pipeline left, and what it printed."""

    root: Path  # holds only ``checkout`` (BIGD_HOME) and ``cwd`` (where the run started)
    cwd: Path  # the working directory of the run: it holds only the work folder ``demo``
    workdir: Path  # the demo's work folder: sample, lake, warehouse, pseudonym key
    printed: str  # what the demo printed on its console
    results: dict  # stage -> its run summary (``pipeline``'s stages, and delivery, purge)
    planted_cnpj: str  # the establishment carrying the planted personal data
    partner_keys: list[str] = field(default_factory=list)  # every key the run generated
    home: Path | None = None  # the checkout whose record names the default data folder
    env: dict[str, str] = field(default_factory=dict)  # for commands run after the demo
    demo: Any = None  # ``run_demo``'s result (flows.demo.DemoResult)
    other_output: str = ""  # anything else written to stdout and stderr meanwhile (logs)

    @property
    def sample(self) -> Path:
        return self.workdir / "sample"

    @property
    def lake(self) -> Path:
        return self.workdir / "lake"


@pytest.fixture(scope="session")
def pipeline_run(prefect_harness, tmp_path_factory) -> PipelineRun:
    """``bigd demo`` as the command runs it (``run_demo`` recording its folder as the default
    data folder of a checkout whose record lives in a temporary BIGD_HOME), started in a
    folder of its own with a relative work folder, on a 12,000-establishment release (seed
    2027) with the canary planted; the environment is restored afterwards."""
    from prefect.settings import PREFECT_API_URL
    from rich.console import Console

    import flows.sample
    from flows import demo
    from flows.config import get_settings
    from tests.analysis import canary
    from tests.cli_helpers import ROOT

    root = tmp_path_factory.mktemp("pipeline-run")
    home, cwd = root / "checkout", root / "cwd"
    home.mkdir()
    cwd.mkdir()
    (home / "notebooks").symlink_to(ROOT / "notebooks")
    printed, other_output = io.StringIO(), io.StringIO()
    keys: list[str] = []
    planted: list[str] = []
    real_token, real_generate = secrets.token_urlsafe, flows.sample.generate_release

    def recorded_token(nbytes: int | None = None) -> str:
        keys.append(real_token(nbytes))
        return keys[-1]

    def generate_and_plant(out, **options):
        summary = real_generate(out, **options)
        planted.append(canary.plant(Path(out)))
        return summary

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    with pytest.MonkeyPatch.context() as patch:
        # A wide console so that each table row is one printed line, as on a real terminal.
        patch.setattr(demo, "console", Console(file=printed, width=400))
        patch.setattr(secrets, "token_urlsafe", recorded_token)
        patch.setattr(flows.sample, "generate_release", generate_and_plant)
        os.environ["BIGD_HOME"] = str(home)
        os.chdir(cwd)
        try:
            get_settings.cache_clear()
            with contextlib.redirect_stdout(other_output), contextlib.redirect_stderr(other_output):
                result = demo.run_demo(
                    Path("demo"), establishments=ESTABLISHMENTS, seed=SEED, record_default=True
                )
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            get_settings.cache_clear()
    (planted_cnpj,) = planted
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIGD_")}
    env.update(BIGD_HOME=str(home), PYTHONPATH=str(ROOT), PREFECT_API_URL=PREFECT_API_URL.value())
    return PipelineRun(root, cwd, (cwd / "demo").resolve(), printed.getvalue(), result.results,
                       planted_cnpj, keys, home=home, env=env, demo=result,
                       other_output=other_output.getvalue())  # fmt: skip


def uses_pipeline_run(item: pytest.Item) -> bool:
    return "pipeline_run" in getattr(item, "fixturenames", ())


def _shares_module_fixtures(item: pytest.Item) -> bool:
    """The test uses a fixture set up once per module, class or package."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    return any(d.scope in ("module", "class", "package") for defs in definitions for d in defs)


def assign_worker_groups(items: list[pytest.Item]) -> None:
    """With ``--dist loadgroup`` (pytest-xdist), a group's tests run on one worker. The
    tests reading the shared run form the group ``pipeline`` (the run happens once, on
    one worker, and its readers take turns); a test using a module-scoped fixture (a
    server, a deployment, a generated release) is grouped with its module, so that fixture
    is set up once and the module's tests keep their order; any other test goes to
    whichever worker is free. The shared run's time also counts in the timeout of its
    readers (the first one waits for it)."""
    for item in items:
        if uses_pipeline_run(item):
            item.add_marker(pytest.mark.xdist_group("pipeline"))
            marker = item.get_closest_marker("timeout")
            if marker is None or (marker.args and marker.args[0] < SETUP_TIMEOUT):
                item.add_marker(pytest.mark.timeout(SETUP_TIMEOUT), append=False)
        elif item.get_closest_marker("xdist_group") is None and _shares_module_fixtures(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    _longest_first(items)


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    return str(marker.args[0]) if marker is not None and marker.args else None


def _longest_first(items: list[pytest.Item]) -> None:
    """Hand out the long work first, so that no long group is left for the end while the
    other worker idles: the shared run's readers (minutes, one after the other), then the
    groups holding a ``slow`` test (the deployment test's server and pipeline run, ...),
    then the other modules holding one (the benchmark's pipeline run, ...), then the rest,
    each in collection order. A module or group moves whole, so a module's tests stay
    together (its module fixtures are set up once, with or without xdist). pytest-xdist
    keeps this order with ``--no-loadscope-reorder`` (pyproject addopts); its default
    orders groups by their number of tests, which says nothing about their time."""
    units: dict[str, int] = {}
    for item in items:
        group = _group(item)
        unit = group or item.nodeid.split("::")[0]
        rank = 3
        if group == "pipeline":
            rank = 0
        elif item.get_closest_marker("slow") is not None:
            rank = 1 if group is not None else 2
        units[unit] = min(units.get(unit, 3), rank)
    items.sort(key=lambda item: units[_group(item) or item.nodeid.split("::")[0]])
