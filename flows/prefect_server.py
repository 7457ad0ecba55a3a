"""The project's own Prefect server: started once, reused by every flow command.

Without a Prefect API, each command starts Prefect's temporary server and stops it at
exit: 8-16 s per command on this machine, whatever the work. ``bigd server start`` runs
``prefect server start`` in the background (its own session, so a command's Ctrl-C or
SIGTERM does not reach it) with ``PREFECT_HOME=<data_dir>/prefect`` (its database, UI
files and log ``server.log`` live there) and writes its URL and PID to
``<data_dir>/prefect/server.json``. A flow command then looks for that server before it
uses Prefect (``connect``):

1. ``PREFECT_API_URL`` configured (environment, ``.env``, Prefect profile): it wins;
2. else a healthy project server of this data folder (``GET /api/health``): used;
3. else Prefect's temporary server, as before (nothing is started in the background by
   a flow command: a command never leaves a process behind; ``bigd server stop`` stops
   the one ``bigd server start`` started).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STATE_FILE = "server.json"
LOG_FILE = "server.log"
START_TIMEOUT_SECONDS = 120.0  # ~15 s when idle; the first start also builds the database


class ServerError(RuntimeError):
    """The project server did not start (the message names the log to read)."""


@dataclass(frozen=True)
class ServerState:
    url: str  # the API URL, http://127.0.0.1:PORT/api
    pid: int
    home: str  # its PREFECT_HOME
    log: str


def prefect_home(data_dir: Path) -> Path:
    """The project server's ``PREFECT_HOME``: ``<data_dir>/prefect``."""
    return (Path(data_dir) / "prefect").resolve()


def read_state(data_dir: Path) -> ServerState | None:
    """What ``bigd server start`` wrote, or None (no file or not readable)."""
    try:
        return ServerState(**json.loads((prefect_home(data_dir) / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers ``GET /health`` with 200."""
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def running_server(data_dir: Path) -> ServerState | None:
    """The project server of ``data_dir`` if it is up and healthy."""
    state = read_state(data_dir)
    return state if state is not None and healthy(state.url) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_our_server(pid: int) -> bool:
    """The PID still runs ``prefect server start`` (not a recycled PID)."""
    import psutil

    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False
    return "prefect" in command and "server" in command


def start(data_dir: Path, port: int = 0, timeout: float = START_TIMEOUT_SECONDS) -> ServerState:
    """Start the project server in the background (or return the running one) and wait
    until it is healthy. Interrupted or failed, it leaves no process and no state behind."""
    if (state := running_server(data_dir)) is not None:
        return state
    stop(data_dir)  # a stale state file or a server that stopped answering
    home = prefect_home(data_dir)
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log_path = home / LOG_FILE
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(port), "--analytics-off"]  # fmt: skip
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command, env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    state = ServerState(f"http://127.0.0.1:{port}/api", process.pid, str(home), str(log_path))
    (home / STATE_FILE).write_text(json.dumps(asdict(state), indent=2))
    try:
        deadline = time.monotonic() + timeout
        while not healthy(state.url, timeout=1.0):
            if process.poll() is not None:
                raise ServerError(f"the Prefect server exited (code {process.returncode}); "
                                  f"see {log_path}")  # fmt: skip
            if time.monotonic() > deadline:
                raise ServerError(f"the Prefect server did not answer in {timeout:.0f} s; "
                                  f"see {log_path}")  # fmt: skip
            time.sleep(0.25)
    except BaseException:
        stop(data_dir)
        raise
    return state


def stop(data_dir: Path, timeout: float = 15.0) -> ServerState | None:
    """Stop the project server (SIGTERM, then SIGKILL after ``timeout``) and remove its
    state file; the state it had, or None when there was none."""
    import psutil

    state = read_state(data_dir)
    if state is None:
        return None
    if _is_our_server(state.pid):
        with suppress(psutil.Error):
            server = psutil.Process(state.pid)
            processes = [server, *server.children(recursive=True)]
            os.kill(state.pid, signal.SIGTERM)
            _, alive = psutil.wait_procs(processes, timeout=timeout)
            for process in alive:
                with suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(alive, timeout=5)
    (prefect_home(data_dir) / STATE_FILE).unlink(missing_ok=True)
    return state


def configured_api_url() -> str | None:
    """A ``PREFECT_API_URL`` set outside Big D: the environment first (cheap), else
    Prefect's own settings (``.env``, ``prefect.toml``, the active profile)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def connect(data_dir: Path) -> str:
    """Point this process's Prefect client at the API it should use; says which one.
    Call before the first flow runs."""
    if os.environ.get("PREFECT_API_URL"):
        return f"configured PREFECT_API_URL {os.environ['PREFECT_API_URL']}"
    state = running_server(data_dir)
    if state is None:  # Prefect decides: a profile's PREFECT_API_URL, else its temporary server
        return "Prefect's temporary server"
    if url := configured_api_url():
        return f"configured PREFECT_API_URL {url}"
    os.environ["PREFECT_API_URL"] = state.url
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # Prefect read its settings when it was imported
    log.debug("Prefect: the project server at %s (`bigd server stop` stops it)", state.url)
    return f"the project server at {state.url}"
