"""The newcomer's demo, timed: ``python -m benchmarks.bench_demo``.

    python -m benchmarks.bench_demo [--establishments N] [--fresh-clone] [--prefect] [--skip-demo]

* default: ``bigd demo`` of this checkout's venv in a fresh folder (after set-up), as a
  user runs it; prints each stage's seconds (from the demo's own stage lines) and the
  command's wall time. Target: at most 60 s.
* ``--fresh-clone``: ``git clone`` this checkout into a temporary folder and run
  ``scripts/demo`` there twice: the first run includes the set-up (``.venv``, uv or pip
  install from the package cache), the second is the demo alone. Target: the first at
  most 150 s.
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


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr


def bench_demo(establishments: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "notebooks").symlink_to(ROOT / "notebooks")
        bigd = Path(sys.executable).parent / "bigd"
        command = [str(bigd)] if bigd.is_file() else [sys.executable, "-m", "flows"]
        seconds, printed = _timed([*command, "demo", "--establishments", str(establishments)],
                                  Path(tmp), _env(BIGD_HOME=str(home)))  # fmt: skip
    rows = [(m.group(1), f"{float(m.group(2)):.1f}")
            for line in printed.splitlines() if (m := STAGE.match(line))]  # fmt: skip
    rows.append(("lines printed", str(len(printed.splitlines()))))
    rows.append(("bigd demo wall (target <= 60 s)", f"{seconds:.1f}"))
    return rows


def bench_fresh_clone(establishments: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        clone = Path(tmp) / "bigd"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = _env(PYTHONPATH="")
        first, _ = _timed(["scripts/demo", "--establishments", str(establishments)], clone, env)
        second, _ = _timed(["scripts/demo", "--establishments", str(establishments)], clone, env)
    return [("scripts/demo, first run with set-up (target <= 150 s)", f"{first:.1f}"),
            ("scripts/demo, second run (target <= 60 s)", f"{second:.1f}")]  # fmt: skip


def bench_prefect() -> list[tuple[str, str]]:
    rows = []
    python = [sys.executable, "-c", START_PREFECT]
    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as tmp:
        options = {
            "temporary server, your Prefect home": _env(),
            "temporary server, empty Prefect home": _env(PREFECT_HOME=f"{tmp}/fresh"),
            "temporary server, analytics and event persister off": _env(
                PREFECT_SERVER_ANALYTICS_ENABLED="false",
                PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED="false",
                PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED="false",
            ),
        }
        for name, env in options.items():
            seconds, printed = _timed(python, Path(tmp), env)
            rows.append((name, printed.strip().splitlines()[-1]))
        data = _env(BIGD_DATA_DIR=f"{tmp}/data")
        bigd = [sys.executable, "-m", "flows"]
        seconds, _ = _timed([*bigd, "server", "start"], Path(tmp), data)
        try:
            rows.append(("bigd server start (once, incl. CLI start-up)", f"{seconds:.2f}"))
            from flows import prefect_server

            state = prefect_server.read_state(Path(tmp) / "data")
            assert state is not None
            reuse = _env(PREFECT_API_URL=state.url)
            seconds, printed = _timed(python, Path(tmp), reuse)
            rows.append(("project server reused (each command)", printed.strip().splitlines()[-1]))
        finally:
            _timed([*bigd, "server", "stop"], Path(tmp), data)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--establishments", type=int, default=5_000)
    parser.add_argument("--fresh-clone", action="store_true", help="time scripts/demo too")
    parser.add_argument("--prefect", action="store_true", help="time the Prefect API options")
    parser.add_argument("--skip-demo", action="store_true", help="not the default measure")
    args = parser.parse_args()
    rows = [] if args.skip_demo else bench_demo(args.establishments)
    if args.fresh_clone:
        rows += bench_fresh_clone(args.establishments)
    if args.prefect:
        rows += bench_prefect()
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  seconds")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>7}")
    print(f"(2-core machine, {os.cpu_count()} CPUs visible; shared machines give noisy figures)")


if __name__ == "__main__":
    main()
