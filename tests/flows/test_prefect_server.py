"""The project's Prefect server: ``bigd server start|stop|status`` and flow commands
that reuse it instead of starting Prefect's temporary server each time."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from flows import prefect_server
from tests.cli_helpers import (
    SilentServer,
    StderrReader,
    cli_env,
    descendants,
    run_cli,
    still_running,
)

# ---- which API a command uses (no server started) -------------------------------------


def test_a_configured_prefect_api_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    assert prefect_server.connect(tmp_path) == (
        "configured PREFECT_API_URL http://prefect.example:4200/api"
    )


def test_without_a_project_server_commands_use_the_temporary_one(monkeypatch, tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert prefect_server.connect(tmp_path) == "Prefect's temporary server"
    home = prefect_server.prefect_home(tmp_path)
    home.mkdir(parents=True)
    (home / prefect_server.STATE_FILE).write_text("not json")
    assert prefect_server.read_state(tmp_path) is None
    stale = {"url": "http://127.0.0.1:9/api", "pid": 1, "home": str(home), "log": "x"}
    (home / prefect_server.STATE_FILE).write_text(json.dumps(stale))
    assert prefect_server.connect(tmp_path) == "Prefect's temporary server"
    assert "PREFECT_API_URL" not in os.environ


def test_stop_never_kills_a_process_that_is_not_the_server(tmp_path):
    """A stale state file whose PID now belongs to another program: only the file goes."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        home = prefect_server.prefect_home(tmp_path)
        home.mkdir(parents=True)
        state = {"url": "http://127.0.0.1:9/api", "pid": other.pid, "home": str(home), "log": ""}
        (home / prefect_server.STATE_FILE).write_text(json.dumps(state))
        assert prefect_server.stop(tmp_path).pid == other.pid
        assert other.poll() is None
        assert not (home / prefect_server.STATE_FILE).exists()
        assert prefect_server.stop(tmp_path) is None
    finally:
        other.kill()
        other.wait()


# ---- a real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """``bigd server start`` for one data folder; ``bigd server stop`` at the end (checked)."""
    folder = tmp_path_factory.mktemp("project")
    env = cli_env(folder / "data")
    started = run_cli(["server", "start"], env, cwd=folder)
    assert started.returncode == 0, started.stderr
    state = prefect_server.read_state(folder / "data")
    assert state is not None and prefect_server.healthy(state.url)
    yield folder, env, state
    stopped = run_cli(["server", "stop"], env, cwd=folder)
    assert stopped.returncode == 0, stopped.stderr
    assert f"Stopped the Prefect server at {state.url}" in stopped.stderr
    assert not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == "zombie"
    assert prefect_server.read_state(folder / "data") is None
    assert run_cli(["server", "status"], env, cwd=folder).returncode == 1


def _flow_runs(api_url: str) -> list[dict]:
    runs = httpx.post(f"{api_url}/flow_runs/filter", json={}, timeout=30).json()
    flows = httpx.post(f"{api_url}/flows/filter", json={}, timeout=30).json()
    names = {flow["id"]: flow["name"] for flow in flows}
    return [{"flow": names[run["flow_id"]], "state": run["state_type"]} for run in runs]


@pytest.mark.integration
def test_flow_commands_reuse_the_project_server(project):
    folder, env, state = project
    again = run_cli(["server", "start"], env, cwd=folder)
    assert again.returncode == 0 and f"pid {state.pid}" in again.stderr
    assert run_cli(["server", "status"], env, cwd=folder).returncode == 0

    (folder / "data" / "lake").mkdir()  # purge reads a lake; without one it says no
    purge = run_cli(["purge", "--dry-run"], env, cwd=folder)
    (folder / "empty").mkdir()
    ingest = run_cli(["ingest", "cnpj", "--release", "2026-01", "--source",
                      str(folder / "empty")], env, cwd=folder)  # fmt: skip
    assert purge.returncode == 0, purge.stderr
    assert ingest.returncode == 1
    assert ingest.stderr.strip().splitlines()[-1].startswith("Failed: FileNotFoundError")
    for result in (purge, ingest):
        assert "Starting temporary server" not in result.stderr
        assert f"the project server at {state.url}" in result.stderr
    runs = _flow_runs(state.url)
    assert {"flow": "purge", "state": "COMPLETED"} in runs
    assert {"flow": "ingest_cnpj", "state": "FAILED"} in runs


@pytest.mark.integration
def test_verbose_shows_the_traceback_and_the_run_logs_but_no_http_transport_lines(project):
    """Every Prefect API call goes through httpx; at DEBUG httpx, httpcore (and urllib3,
    h11, ...) log each request, header and socket event, which buried the run's log."""
    folder, env, _ = project
    (folder / "empty-verbose").mkdir()
    result = run_cli(["--verbose", "ingest", "cnpj", "--release", "2026-01", "--source",
                      str(folder / "empty-verbose")], env, cwd=folder)  # fmt: skip
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "Beginning flow run" in result.stderr  # the run's own log
    transport = re.compile(r"\b(httpx|httpcore|h11|urllib3|hpack)\b|HTTP Request:")
    noise = [line for line in result.stderr.splitlines() if transport.search(line)]
    assert not noise, noise[:5]


@pytest.mark.integration
def test_a_killed_command_leaves_the_server_running_and_its_run_crashed(project):
    """SIGTERM mid-run with the project server: no child left, the server still healthy,
    the run marked Crashed by Prefect's SIGTERM handler before ours stops the command."""
    folder, env, state = project
    silent = SilentServer()
    command = [sys.executable, "-m", "flows", "ingest", "cnpj", "--release", "2026-02",
               "--source", silent.url]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=folder, stderr=subprocess.PIPE, text=True)
    reader = StderrReader(process)
    try:
        assert reader.wait_for("Beginning flow run", timeout=240), reader.lines
        time.sleep(1.0)
        children = descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        assert reader.join()[-1] == "Stopped: SIGTERM received"
        assert still_running(children) == []
    finally:
        if process.poll() is None:
            process.kill()
        silent.close()
    assert prefect_server.healthy(state.url)
    assert {"flow": "ingest_cnpj", "state": "CRASHED"} in _flow_runs(state.url)
