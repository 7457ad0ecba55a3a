"""The command line as a process: installable and runnable from any folder, one red line
per failure, and a killed command leaves no process behind."""

from __future__ import annotations

import io
import logging
import shutil
import signal
import subprocess
import sys
import time

import pytest

from flows import paths, runtime
from tests.cli_helpers import (
    ROOT,
    SilentServer,
    StderrReader,
    cli_env,
    descendants,
    run_cli,
    still_running,
)

# ---- the package ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """This checkout installed as a user's ``pip install .`` would (a wheel, no deps),
    into a folder of its own: the installed copy, not the checkout, is what runs. Built
    from a copy of the checkout: setuptools writes ``build/`` and ``*.egg-info`` beside the
    sources, which would appear in the checkout while other tests list it (test_demo)."""
    site = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("source") / "checkout"
    skip = (".git", ".venv", "build", "*.egg-info", "*_cache", ".hypothesis", "__pycache__", "out")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*skip))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(site), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return site


@pytest.mark.slow
def test_bigd_and_python_m_flows_run_from_any_folder(installed, tmp_path):
    env = {**cli_env(tmp_path / "data"), "PYTHONPATH": str(installed)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bigd = str(installed / "bin" / "bigd")
    for command, expected in (([bigd, "--help"], "ingest"),
                              ([bigd, "ingest", "cnpj", "--help"], "--release"),
                              ([sys.executable, "-m", "flows", "--help"], "server")):  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                cwd=elsewhere, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import flows; print(flows.__file__)"],
        capture_output=True, text=True, env=env, cwd=elsewhere, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(installed))


@pytest.mark.slow
def test_the_package_carries_every_file_the_flows_read(installed):
    """Every non-Python file under flows/ (SQL, catalog, scrub policy, ...) is installed."""
    wanted = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "flows").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    )
    assert wanted, "expected data files under flows/"
    missing = [name for name in wanted if not (installed / name).is_file()]
    assert missing == []


def test_notebooks_are_found_in_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.HOME_VARIABLE, raising=False)
    assert paths.project_root() == ROOT
    with pytest.raises(paths.ProjectFilesNotFound, match=r"no notebook nope\.ipynb"):
        paths.notebook_path("nope")


def test_bigd_home_points_at_another_copy_of_the_notebooks(monkeypatch, tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "demand.ipynb").write_text("{}")
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path))
    assert paths.notebook_path("demand") == tmp_path / "notebooks" / "demand.ipynb"
    assert paths.notebook_path("demand.ipynb") == tmp_path / "notebooks" / "demand.ipynb"
    with pytest.raises(ValueError, match="not a path"):
        paths.notebook_path("../secrets")
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(paths.ProjectFilesNotFound, match=r"BIGD_HOME=.*has no notebooks/"):
        paths.project_root()


# ---- one red line per failure -----------------------------------------------------------


@pytest.mark.integration
def test_a_failed_flow_command_ends_with_one_line_without_traceback(tmp_path):
    """On Prefect's temporary server (no server configured): the run's log lines stay,
    their tracebacks do not, and the command's own red line is the last one."""
    (tmp_path / "empty").mkdir()
    result = run_cli(
        ["ingest", "cnpj", "--release", "2026-01", "--source", str(tmp_path / "empty")],
        cli_env(tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert lines[-1].startswith("Failed: FileNotFoundError: no CNPJ zips found in"), lines
    assert "Traceback" not in result.stderr
    assert any("Finished in state Failed" in line for line in lines)
    assert len(lines) <= 8, lines  # was 24: a 17-line traceback and exit-time lines


def test_the_console_copy_drops_the_traceback_and_other_handlers_keep_it():
    """Like Prefect's console and API handlers on one record: only the console's is cut."""
    console, api = io.StringIO(), io.StringIO()
    logger = logging.getLogger("tests.console-copy")
    logger.propagate = False
    handlers = [logging.StreamHandler(console), logging.StreamHandler(api)]
    runtime.without_traceback(handlers[0])
    runtime.without_traceback(handlers[0])  # idempotent: wrapped once
    for handler in handlers:
        logger.addHandler(handler)
    try:
        raise ValueError("bad row")
    except ValueError:
        logger.exception("Task run failed")
    for handler in handlers:
        logger.removeHandler(handler)
    assert console.getvalue() == "Task run failed\n"
    assert "Traceback (most recent call last)" in api.getvalue()
    assert "ValueError: bad row" in api.getvalue()


# ---- a killed command leaves nothing behind ---------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_killed_flow_command_leaves_no_process_behind(tmp_path, signum):
    """Killed in the middle of a flow run (the download hangs on a silent server), the
    command stops Prefect's temporary server and every other child before it exits."""
    silent = SilentServer()
    command = [sys.executable, "-m", "flows", "ingest", "cnpj", "--release", "2026-01",
               "--source", silent.url]  # fmt: skip
    process = subprocess.Popen(command, env=cli_env(tmp_path / "data"), cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    reader = StderrReader(process)
    try:
        assert reader.wait_for("Beginning flow run", timeout=240), reader.lines
        time.sleep(1.0)
        children = descendants(process.pid)
        assert any("uvicorn" in " ".join(child.cmdline()) for child in children)
        process.send_signal(signum)
        assert process.wait(timeout=60) == 128 + signum
        lines = reader.join()
        assert lines[-1] == f"Stopped: {signal.Signals(signum).name} received", lines
        assert still_running(children) == []
    finally:
        if process.poll() is None:
            process.kill()
        silent.close()
