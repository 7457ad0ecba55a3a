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

import pytest

SEED, ESTABLISHMENTS = 2027, 12_000  # development used seed 7 (5,000 and 20,000)
# The session's first test that reads the run also waits for it (about 2-4 minutes).
SETUP_TIMEOUT = 900


@dataclass
class PipelineRun:
    """What the session's one run of the pipeline left, and what it printed."""

    root: Path  # holds only ``cwd`` (the working directory of the run) and ``workdir``
    cwd: Path
    workdir: Path  # the demo's work folder: sample, lake, warehouse, pseudonym key
    printed: str  # everything the run wrote to the console, stdout and stderr
    results: dict  # ``pipeline``'s result: stage -> its run summary
    planted_cnpj: str  # the establishment carrying the planted personal data
    partner_keys: list[str] = field(default_factory=list)  # every key the run generated

    @property
    def sample(self) -> Path:
        return self.workdir / "sample"

    @property
    def lake(self) -> Path:
        return self.workdir / "lake"


@pytest.fixture(scope="session")
def pipeline_run(prefect_harness, tmp_path_factory) -> PipelineRun:
    """``run_demo`` on a 12,000-establishment release (seed 2027) with the canary planted."""
    from rich.console import Console

    import flows.sample
    from flows import demo
    from flows.config import get_settings
    from tests.analysis import canary

    root = tmp_path_factory.mktemp("pipeline-run")
    cwd, workdir = root / "cwd", root / "demo"
    cwd.mkdir()
    printed = io.StringIO()
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

    saved_env = {name: value for name, value in os.environ.items() if name.startswith("BIGD_")}
    saved_cwd = Path.cwd()
    with pytest.MonkeyPatch.context() as patch:
        # A wide console so that each table row is one printed line, as on a real terminal.
        patch.setattr(demo, "console", Console(file=printed, width=400))
        patch.setattr(secrets, "token_urlsafe", recorded_token)
        patch.setattr(flows.sample, "generate_release", generate_and_plant)
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                results = demo.run_demo(workdir, establishments=ESTABLISHMENTS, seed=SEED)
        finally:
            os.chdir(saved_cwd)
            for name in [n for n in os.environ if n.startswith("BIGD_")]:
                del os.environ[name]
            os.environ.update(saved_env)
            get_settings.cache_clear()
    (planted_cnpj,) = planted
    return PipelineRun(root, cwd, workdir, printed.getvalue(), results, planted_cnpj, keys)


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
