"""The whole pipeline at scale, per stage: ``python -m benchmarks.bench_pipeline``.

    python -m benchmarks.bench_pipeline [--establishments 2000000] [--seed 7] [--out DIR]
                                        [--json FIGURES.json]

1. ``generate``: ``python -m flows sample`` writes a release of ``--establishments``
   establishments (the generator's partner sales come in proportion) in its own process.
2. The project's Prefect server starts (``bigd server start``'s code, before the timer)
   and the partner API serves the sample (a thread of this process, as in ``bigd demo``).
3. The ``pipeline`` flow runs once, in a fresh process, on the embedded defaults (folder
   lake, DuckDB warehouse, the lake's outbox) against that server: CNPJ, public, partner,
   load, analysis (the papermill notebook in its own kernel), publish and render.

Per stage: wall time (the sub-flow run's start and end as the Prefect server recorded
them), rows and rows per second (the stage's own count, named in the table), and the peak
memory of ALL processes while that stage ran: this process (with the partner API), the
pipeline process and its children (notebook kernels, chromium), and the Prefect server's
process tree, summed (psutil, sampled every 0.2 s). The target is read on the proportional
set size (PSS: a page shared by n processes counts 1/n in each, so the sum is the memory
the processes really hold); the plain RSS sum, which counts a shared page once per
process (chromium's and the Python processes' shared libraries), is printed beside it.
Then the whole pipeline (the pipeline process, start to exit) and the overall peak, next
to the targets: <= 10 min and <= 4 GB.

Run it on a quiet machine (the load average is printed with the table). Everything it
writes stays in ``--out`` (default ``benchmarks/out/pipeline-<N>``), replaced each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

OUT = Path(__file__).parent / "out"
RELEASE = "2026-11"
TARGET_SECONDS = 600
TARGET_PEAK_MB = 4_000
SAMPLE_SECONDS = 0.2
# Stage of the table -> the sub-flow of ``pipeline`` whose run it is.
STAGE_FLOWS = {
    "CNPJ": "ingest_cnpj",
    "public": "ingest_public",
    "partner": "ingest_partner",
    "load": "load_warehouse",
    "analysis": "run_analysis",
    "publish": "publish_results",
    "render": "render_infographic",
}


@dataclass
class MemorySampler:
    """Samples the summed RSS of this process's tree and of ``extra`` process trees on a
    thread; ``peak_between(start, end)`` reads the samples of a wall-clock window."""

    interval: float = SAMPLE_SECONDS
    extra_pids: list[int] = field(default_factory=list)
    # Set: only this process's descendants whose command line holds it (and theirs) count,
    # e.g. "ipykernel" for the notebook's kernel and the Dask workers it starts.
    only: str | None = None
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time, PSS, RSS)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), *self.total_memory()))
            self._stop.wait(self.interval)

    def total_memory(self) -> tuple[int, int]:
        """(PSS, RSS) in bytes of this process, its descendants and the extra trees, each
        summed (``smaps_rollup``; RSS alone where PSS cannot be read)."""
        seen: set[int] = set()
        pss = rss = 0
        roots = [os.getpid(), *self.extra_pids] if self.only is None else self.matching()
        for pid in roots:
            try:
                root = psutil.Process(pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in processes:
                if process.pid in seen:
                    continue
                seen.add(process.pid)
                try:
                    full = process.memory_full_info()
                except psutil.AccessDenied:
                    try:
                        full = process.memory_info()
                    except psutil.Error:
                        continue
                except psutil.Error:
                    continue
                rss += full.rss
                pss += getattr(full, "pss", full.rss)
        return pss, rss

    def matching(self) -> list[int]:
        """This process's descendants whose command line contains ``only``."""
        found = []
        for process in psutil.Process().children(recursive=True):
            try:
                if self.only and self.only in " ".join(process.cmdline()):
                    found.append(process.pid)
            except psutil.Error:
                continue
        return found

    def peak_between(self, start: float, end: float, rss: bool = False) -> int:
        """The highest PSS (or RSS) sample in ``[start, end]`` (0 when none fell inside)."""
        column = 2 if rss else 1
        inside = (sample[column] for sample in self.samples if start <= sample[0] <= end)
        return max(inside, default=0)

    def peaks(self, start: float, end: float) -> dict[str, int]:
        """``peak`` (PSS) and ``peak_rss`` of a window, as the figures hold them."""
        return {"peak": self.peak_between(start, end),
                "peak_rss": self.peak_between(start, end, rss=True)}  # fmt: skip

    @property
    def peak(self) -> int:
        return self.peak_between(0, float("inf"))

    @property
    def peak_rss(self) -> int:
        return self.peak_between(0, float("inf"), rss=True)


def _stage_rows(stage: str, totals: dict) -> tuple[int | None, str]:
    """The stage's own count of what it processed, and what that count is."""
    keys = {
        "CNPJ": ("tables", "rows, all tables"),
        "public": ("rows", "rows ingested"),
        "partner": ("sales", "sale rows"),
        "load": ("rows_loaded", "rows loaded"),
        "analysis": ("prospects_scored", "prospects scored"),
        "publish": ("messages", "messages"),
    }
    if stage not in keys:
        return None, ""
    key, label = keys[stage]
    value = totals.get(key)
    if isinstance(value, dict):  # per table or topic
        value = sum(v for v in value.values() if isinstance(v, int | float))
    return (int(value), label) if isinstance(value, int | float) else (None, "")


def run_child(sample: Path, result: Path) -> None:
    """In the pipeline process: run ``pipeline`` on the sample, write each stage's totals."""
    from flows.demo import pipeline_on_sample

    results = pipeline_on_sample(sample, RELEASE)
    delivery = results["delivery"]
    stages = {name: getattr(summary, "totals", {}) for name, summary in results.items()}
    stages["publish"] = {"messages": delivery.get("published", {})}
    result.write_text(json.dumps(stages, default=str, indent=2))


def _flow_runs(api_url: str) -> dict[str, dict]:
    """Flow name -> its (last) run on the server, with start and end times."""
    import httpx

    flows = httpx.post(f"{api_url}/flows/filter", json={}, timeout=30).json()
    names = {flow["id"]: flow["name"] for flow in flows}
    runs = httpx.post(f"{api_url}/flow_runs/filter", json={"limit": 200}, timeout=30).json()
    by_name: dict[str, dict] = {}
    for run in sorted(runs, key=lambda r: r.get("start_time") or ""):
        by_name[names[run["flow_id"]]] = run
    return by_name


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _run_timed(command: list[str], env: dict[str, str], log: Path) -> float:
    started = time.time()
    with log.open("w") as output:
        done = subprocess.run(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        raise RuntimeError(f"{' '.join(command[:4])} failed ({done.returncode}):\n{tail}")
    return started


def measure(establishments: int, seed: int, out: Path) -> dict:
    """Generate, start the server and the partner API, run the pipeline; the figures."""
    from flows import prefect_server
    from flows.sample.partner_api import PartnerApiServer

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sample, data = out / "sample", out / "data"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BIGD_") and k != "PREFECT_API_URL"}  # fmt: skip
    env |= {"BIGD_DATA_DIR": str(data), "PYTHONPATH": str(Path(__file__).parents[1])}
    figures: dict = {"establishments": establishments, "load_before": os.getloadavg()}
    stages: dict[str, dict] = {}
    with MemorySampler() as sampler:
        started = _run_timed(
            [sys.executable, "-m", "flows", "sample", "--out", str(sample),
             "--establishments", str(establishments), "--seed", str(seed)],
            env, out / "generate.log",
        )  # fmt: skip
        ended = time.time()
        stages["generate"] = {"seconds": ended - started, "rows": establishments,
                              "what": "establishments",
                              **sampler.peaks(started, ended)}  # fmt: skip
        server = prefect_server.start(data)
        sampler.extra_pids.append(server.pid)
        try:
            key = secrets.token_urlsafe(16)
            with PartnerApiServer(sample, key=key) as partner:
                child_env = env | {"PREFECT_API_URL": server.url,
                                   "BIGD_PARTNER_API_URL": partner.url,
                                   "BIGD_PARTNER_API_KEY": key}  # fmt: skip
                result = out / "pipeline.json"
                started = _run_timed(
                    [sys.executable, "-m", "benchmarks.bench_pipeline", "--run-child",
                     str(sample), str(result)],
                    child_env, out / "pipeline.log",
                )  # fmt: skip
                ended = time.time()
            figures["pipeline"] = {"seconds": ended - started,
                                   **sampler.peaks(started, ended)}  # fmt: skip
            runs = _flow_runs(server.url)
        finally:
            prefect_server.stop(data)
    totals = json.loads(result.read_text())
    for stage, flow_name in STAGE_FLOWS.items():
        run = runs.get(flow_name)
        if run is None or run["state_type"] != "COMPLETED":
            raise RuntimeError(f"no completed {flow_name} run on the server")
        start, end = _epoch(run["start_time"]), _epoch(run["end_time"])
        source = "delivery" if stage in ("publish", "render") else _result_key(stage)
        rows, what = _stage_rows(stage, totals.get(source, {}) if stage != "publish"
                                 else totals["publish"])  # fmt: skip
        stages[stage] = {"seconds": end - start, "rows": rows, "what": what,
                         **sampler.peaks(start, end)}  # fmt: skip
    figures |= {"stages": stages, "peak": sampler.peak, "peak_rss": sampler.peak_rss,
                "totals": totals,
                "load_after": os.getloadavg()}  # fmt: skip
    return figures


def _result_key(stage: str) -> str:
    """The stage's key in ``pipeline``'s result."""
    return {"CNPJ": "cnpj", "load": "warehouse"}.get(stage, stage)


def table(figures: dict):
    """The figures as a rich table, targets beside the totals."""
    from rich.table import Table

    cores, memory = psutil.cpu_count(), psutil.virtual_memory().total / 2**30
    title = (f"Whole pipeline, {figures['establishments']:,}-establishment release; "
             f"{platform.node()}, {cores} cores, {memory:.0f} GiB, "
             f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")  # fmt: skip
    out = Table(title=title)
    columns = ("stage", "seconds", "rows", "counted", "rows/s", "peak PSS MB (all)",
               "peak RSS MB (summed)")  # fmt: skip
    for column in columns:
        out.add_column(column, justify="left" if column in ("stage", "counted") else "right")
    for stage, row in figures["stages"].items():
        rows = row["rows"]
        rate = f"{rows / row['seconds']:,.0f}" if rows and row["seconds"] > 0 else "-"
        out.add_row(stage, f"{row['seconds']:,.1f}", "-" if rows is None else f"{rows:,}",
                    row["what"] or "-", rate, f"{row['peak'] / 1e6:,.0f}",
                    f"{row['peak_rss'] / 1e6:,.0f}")  # fmt: skip
    pipeline = figures["pipeline"]
    seconds, peak_mb = pipeline["seconds"], figures["peak"] / 1e6
    out.add_row("pipeline (process start to exit)", f"{seconds:,.1f}", "", "", "",
                f"{pipeline['peak'] / 1e6:,.0f}", f"{pipeline['peak_rss'] / 1e6:,.0f}",
                style="bold")  # fmt: skip
    verdict = (
        f"whole pipeline {seconds:,.0f} s (target <= {TARGET_SECONDS:,}: "
        f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'}); peak {peak_mb:,.0f} MB all "
        f"processes (PSS; RSS summed {figures['peak_rss'] / 1e6:,.0f} MB), generation "
        f"included (target <= {TARGET_PEAK_MB:,}: "
        f"{'met' if peak_mb <= TARGET_PEAK_MB else 'MISSED'}); load average before "
        f"{figures['load_before'][0]:.1f}, after {figures['load_after'][0]:.1f}"
    )
    return out, verdict


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=2_000_000,
                        help="size of the generated release (default 2,000,000)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="the generator's seed")
    parser.add_argument("--out", type=Path, default=None,
                        help="work folder (default benchmarks/out/pipeline-<N>)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures to this JSON file")  # fmt: skip
    parser.add_argument("--run-child", nargs=2, metavar=("SAMPLE", "RESULT"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.run_child:
        run_child(Path(args.run_child[0]), Path(args.run_child[1]))
        return {}
    from rich.console import Console

    out = args.out or OUT / f"pipeline-{args.establishments}"
    figures = measure(args.establishments, args.seed, out.resolve())
    printed, verdict = table(figures)
    console = Console(width=max(120, Console().width))
    console.print(printed)
    console.print(verdict, highlight=False)
    if args.json:
        args.json.write_text(json.dumps(figures, default=str, indent=2))
    return figures


if __name__ == "__main__":
    main()
