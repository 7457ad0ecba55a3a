"""The whole ``ingest cnpj`` command as a user runs it: ``python -m benchmarks.bench_command``.

    python -m benchmarks.bench_command [--establishments 2000000] [--modes server,temporary]

Generates (once, cached in ``benchmarks/out/command-<N>/``) a sample release with
``python -m flows sample``, then runs ``python -m flows ingest cnpj --source <release>``
in a fresh process per mode, into an empty lake each time:

- ``server``: with the project's Prefect server already running (``bigd server start``,
  started before the timer, stopped after); the command starts no server of its own;
- ``temporary``: no Prefect API configured, so the command starts and stops Prefect's
  temporary server itself (the default before ``bigd server``).

For each run: wall time of the command (process start to exit); the flow-only time (from
the flow run's "Beginning flow run" to its last "Finished in state" log line, the
engine's own timestamps); peak RSS of the command's process tree, summed over the
process and all its descendants (psutil, sampled every 0.1 s), and with the project
server's RSS added in ``server`` mode. Targets: wall within 1.15x of the flow with a
server running; peak <= 1 GB for all processes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

OUT = Path(__file__).parent / "out"
RELEASE = "2026-11"
CLOCK = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| ")


def sample_release(establishments: int) -> Path:
    """The cached sample release of ``establishments`` establishments (seed 7)."""
    folder = OUT / f"command-{establishments}" / "sample"
    if not (folder / "MANIFEST.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "flows", "sample", "--out", str(folder),
                        "--establishments", str(establishments)], check=True)  # fmt: skip
    return folder


def _tree_rss(root: psutil.Process, extra: list[psutil.Process]) -> tuple[int, int]:
    """RSS in bytes of ``root`` and its descendants, and of the ``extra`` processes."""
    tree = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            tree += process.memory_info().rss
        except psutil.Error:
            continue
    more = 0
    for process in extra:
        try:
            more += process.memory_info().rss
        except psutil.Error:
            continue
    return tree, more


def _flow_seconds(lines: list[str]) -> float:
    """From the first flow run's start to the last run's end, per the run log lines."""
    stamps = [(CLOCK.match(line), line) for line in lines]
    began = [m.group(1) for m, line in stamps if m and "Beginning flow run" in line]
    ended = [m.group(1) for m, line in stamps if m and "Finished in state" in line]
    if not began or not ended:
        raise RuntimeError("no flow run start/end in the command's log:\n" + "\n".join(lines))
    start, end = (datetime.strptime(value, "%H:%M:%S.%f") for value in (began[0], ended[-1]))
    return (end - start).total_seconds() % 86_400


def run_command(release: Path, work: Path, env: dict[str, str], server_pid: int | None) -> dict:
    """One ``ingest cnpj`` process, measured from outside."""
    shutil.rmtree(work / "lake", ignore_errors=True)
    env = {**env, "BIGD_LAKE": str(work / "lake")}
    command = [sys.executable, "-m", "flows", "ingest", "cnpj", "--release", RELEASE,
               "--source", str(release / "cnpj")]  # fmt: skip
    extra = [psutil.Process(server_pid)] if server_pid else []
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    root = psutil.Process(process.pid)
    peak_tree = peak_all = 0
    while process.poll() is None:
        tree, more = _tree_rss(root, extra)
        peak_tree, peak_all = max(peak_tree, tree), max(peak_all, tree + more)
        time.sleep(0.1)
    wall = time.perf_counter() - started
    stdout = process.stdout.read()
    reader.join(10)
    if process.returncode != 0:
        raise RuntimeError(f"ingest cnpj failed ({process.returncode}):\n" + "".join(lines[-20:]))
    return {
        "wall": wall,
        "flow": _flow_seconds([line.rstrip() for line in lines]),
        "peak_tree_mb": peak_tree / 1e6,
        "peak_all_mb": peak_all / 1e6,
        "temporary_server": any("Starting temporary server" in line for line in lines),
        "output": stdout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=2_000_000)
    parser.add_argument("--modes", default="server,temporary",
                        help="comma-separated: server, temporary")  # fmt: skip
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from flows import prefect_server

    console = Console()
    release = sample_release(args.establishments)
    results = {}
    for mode in args.modes.split(","):
        work = OUT / f"command-{args.establishments}" / f"run-{mode}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BIGD_") and k != "PREFECT_API_URL"}  # fmt: skip
        env["BIGD_DATA_DIR"] = str(work / "data")
        state = None
        if mode == "server":
            state = prefect_server.start(work / "data")
        try:
            results[mode] = run_command(release, work, env, state.pid if state else None)
        finally:
            if state is not None:
                prefect_server.stop(work / "data")
        shutil.rmtree(work / "lake", ignore_errors=True)

    table = Table(title=f"bigd ingest cnpj, {args.establishments:,}-establishment release")
    for column in ("Prefect", "command s", "flow s", "command/flow", "peak RSS tree MB",
                   "+ server MB"):  # fmt: skip
        table.add_column(column, justify="left" if column == "Prefect" else "right")
    labels = {"server": "project server running", "temporary": "temporary server"}
    for mode, figures in results.items():
        table.add_row(
            labels[mode], f"{figures['wall']:.1f}", f"{figures['flow']:.1f}",
            f"{figures['wall'] / figures['flow']:.2f}x", f"{figures['peak_tree_mb']:,.0f}",
            f"{figures['peak_all_mb']:,.0f}" if mode == "server" else "-",
        )  # fmt: skip
    console.print(table)
    if "server" in results:
        figures = results["server"]
        console.print(
            f"with a server running: command {figures['wall'] / figures['flow']:.2f}x the "
            f"flow (target <= 1.15x); peak {figures['peak_all_mb']:,.0f} MB all processes "
            f"(target <= 1,000); temporary server started: {figures['temporary_server']}"
        )
    console.print(results[next(iter(results))]["output"].strip(), highlight=False)


if __name__ == "__main__":
    main()
