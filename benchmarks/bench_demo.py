"""The newcomer's demo, timed: ``python -m benchmarks.bench_demo``.

    python -m benchmarks.bench_demo [--establishments N] [--fresh-clone] [--prefect] [--skip-demo]

* default: ``bigd demo`` of this checkout's venv in a fresh folder (after set-up), as a
  user runs it, twice: the first run starts the project's Prefect server, the second
  reuses it; prints each stage's seconds (from the demo's own stage lines), the
  command's wall time and CPU time. Target: at most 60 s. The server is stopped at the end.
* ``--fresh-clone``: ``git clone`` this checkout into a temporary folder and run
  ``scripts/demo`` there twice: the first run includes the set-up (``.venv``, uv or pip
  install from the package cache), the second is the demo alone. Target: the first at
  most 150 s. With ``--cold-cache`` the set-up starts from empty uv and pip caches (every
  wheel fetched from the package index again), as on a machine that never installed them.
* ``--prefect``: the options for the Prefect API a command uses, each in a fresh
  process, timed from before the first API call to its answer: Prefect's temporary server
  with the user's Prefect home (database already migrated), with an empty Prefect home
  (database created and migrated), with the analytics and the event persister settings
  off, ``bigd server start`` (a project server started once), and reusing it (a health
  check).

The demo records its folder as the default data folder of the checkout it runs from; the
benchmark points ``BIGD_HOME`` at a temporary copy of ``notebooks/`` for the default mode,
so this checkout's record is left as it was.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^✓ (\w+)\s+([\d.]+) s")
START_PREFECT = (
    "import time; from prefect.client.orchestration import get_client\n"
    "t = time.perf_counter()\n"
    "with get_client(sync_client=True) as c: c.api_healthcheck()\n"
    "print(f'{time.perf_counter() - t:.2f}')"
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BIGD_", "PREFECT_API_URL"))}  # fmt: skip
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"  # as flows/__init__.py
    env.update(extra)
    return env


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the process and everything it waited for (a shared
    machine slows the wall clock, much less the CPU time), and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, cpu, done.stdout + done.stderr


Row = tuple[str, str, str]  # measure, wall seconds, CPU seconds


def _stop_server(data_dir: Path) -> None:
    """`bigd server stop` for the project server the demo left running in ``data_dir``."""
    from flows import prefect_server

    prefect_server.stop(data_dir)


def bench_demo(establishments: int) -> list[Row]:
    """``bigd demo`` twice in one fresh folder: the first starts the project's Prefect
    server (and leaves it running), the second reuses it, as a user's second run does."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "notebooks").symlink_to(ROOT / "notebooks")
        bigd = Path(sys.executable).parent / "bigd"
        command = [str(bigd)] if bigd.is_file() else [sys.executable, "-m", "flows"]
        command += ["demo", "--establishments", str(establishments)]
        try:
            for run in ("first", "second"):
                seconds, cpu, printed = _timed(command, Path(tmp), _env(BIGD_HOME=str(home)))
                rows += [(f"  {run} run: stage {m.group(1)}", f"{float(m.group(2)):.1f}", "")
                         for line in printed.splitlines() if (m := STAGE.match(line))]  # fmt: skip
                rows.append((f"bigd demo, {run} run, {len(printed.splitlines())} lines "
                             "(target <= 60 s)", f"{seconds:.1f}", f"{cpu:.1f}"))  # fmt: skip
        finally:
            _stop_server(Path(tmp) / "demo")
    return rows


def bench_fresh_clone(establishments: int, cold_cache: bool = False) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        clone = Path(tmp) / "bigd"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = _env(PYTHONPATH="")
        setup = "with set-up"
        if cold_cache:
            env |= {"UV_CACHE_DIR": f"{tmp}/uv-cache", "PIP_NO_CACHE_DIR": "1"}
            setup = "with set-up, empty uv/pip caches"
        try:
            for name in (f"first run, {setup} (target <= 150 s)", "second run (<= 60 s)"):
                seconds, cpu, _ = _timed(["scripts/demo", "--establishments",
                                          str(establishments)], clone, env)  # fmt: skip
                rows.append((f"scripts/demo in a fresh clone, {name}", f"{seconds:.1f}",
                             f"{cpu:.1f}"))  # fmt: skip
        finally:
            _stop_server(clone / "demo")
    return rows


def _server_cpu(pid: int) -> float:
    import psutil

    server = psutil.Process(pid)
    total = 0.0
    for process in [server, *server.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def bench_prefect() -> list[Row]:
    """Time to a Prefect API that answers, per option (wall; CPU of the whole process,
    Prefect's import included, or of the server for `bigd server start`)."""
    rows: list[Row] = []
    python = [sys.executable, "-c", START_PREFECT]
    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as tmp:
        quiet = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # as every bigd command
        options = {
            "temporary server, your Prefect home (migrated)": _env(**quiet),
            "temporary server, empty Prefect home": _env(**quiet, PREFECT_HOME=f"{tmp}/fresh"),
            "temporary server, your home, services off": _env(
                **quiet,
                PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED="false",
                PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED="false",
                PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED="false",
                PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED="false",
            ),
        }
        for name, env in options.items():
            _, cpu, printed = _timed(python, Path(tmp), env)
            rows.append((name, printed.strip().splitlines()[-1], f"{cpu:.1f}"))
        data = _env(BIGD_DATA_DIR=f"{tmp}/data")
        bigd = [sys.executable, "-m", "flows"]
        seconds, _, _ = _timed([*bigd, "server", "start"], Path(tmp), data)
        from flows import prefect_server

        state = prefect_server.read_state(Path(tmp) / "data")
        try:
            assert state is not None
            rows.append(("bigd server start (once; incl. the CLI's start-up)", f"{seconds:.2f}",
                         f"{_server_cpu(state.pid):.1f}"))  # fmt: skip
            _, cpu, printed = _timed(python, Path(tmp), _env(PREFECT_API_URL=state.url))
            rows.append(("project server reused (per command)", printed.strip().splitlines()[-1],
                         f"{cpu:.1f}"))  # fmt: skip
        finally:
            _timed([*bigd, "server", "stop"], Path(tmp), data)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--establishments", type=int, default=5_000)
    parser.add_argument("--fresh-clone", action="store_true", help="time scripts/demo too")
    parser.add_argument("--cold-cache", action="store_true",
                        help="--fresh-clone's set-up from empty uv and pip caches")  # fmt: skip
    parser.add_argument("--prefect", action="store_true", help="time the Prefect API options")
    parser.add_argument("--skip-demo", action="store_true", help="not the default measure")
    args = parser.parse_args()
    rows = [] if args.skip_demo else bench_demo(args.establishments)
    if args.fresh_clone:
        rows += bench_fresh_clone(args.establishments, args.cold_cache)
    if args.prefect:
        rows += bench_prefect()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'measure':<{width}}  {'wall s':>7}  {'CPU s':>6}")
    for name, wall, cpu in rows:
        print(f"{name:<{width}}  {wall:>7}  {cpu:>6}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"({os.cpu_count()} CPUs; load average {load}: on a shared machine the wall times "
          "are noisy, the CPU times less so)")  # fmt: skip


if __name__ == "__main__":
    main()
