"""``bench_analysis --synthetic-prospects``: the scoring and output stage at national sizes.

A national release has a few million active establishments in the scored channels; the
generator cannot make 15M establishments in a benchmark's time, so the prospects are
synthesised: a small release is generated, ingested, loaded and fitted as the notebook
does (setup, not measured), then its prospects (the featured non-customers, so the
generator's distributions of channel, place, size and age) are replicated with new ids
(``cnpj_hash``, ``cnpj``) and a jittered share capital and age, chunk by chunk.

Each size runs in a fresh process, measured from outside (psutil, every 0.1 s, the
process and all its descendants: Dask workers included): the notebook's scoring and
output functions (``study.score_and_rank``: chunks scored, prospect_categories.parquet
streamed, the per-prospect rows ranked out of core into prospects.parquet; then
``results.write``: potential_by_region, top_prospects, metrics, card) on N prospects.

``--input streamed``: the chunks are made as they are scored (what a national run needs:
nothing holds every prospect); ``--input memory``: all N prospects' featured rows are
made first and held in one frame, as the notebook holds ``conversion.featured`` today,
then scored chunk by chunk from it.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import psutil

SEED = 42
CHILD = "benchmarks.analysis_scale"


def fit_base(workdir: Path, categories: list[str] | None, folds: int = 2) -> Path:
    """Read the loaded warehouse, fit as the notebook does (``folds`` CV folds: only the
    ensemble weights come from it here), score the base release's prospects once (for the
    hidden-customer check the metrics carry); pickle what scoring N prospects needs."""
    from flows.analysis import scoring, study
    from flows.analysis.data import read_warehouse
    from flows.analysis.models import ModelSizes
    from flows.resources import warehouse_engine

    quiet = lambda *_: None  # noqa: E731
    engine = warehouse_engine()
    try:
        data = read_warehouse(engine, release=None, window=None, months=12)
    finally:
        engine.dispose()
    sizes = ModelSizes()
    prepared = study.prepare(data, categories, 100_000, SEED, 0.2, folds)
    cv, _, holdout = study.validate(prepared, folds, sizes, SEED, progress=quiet)
    conv = study.convert(prepared, sizes, SEED, progress=quiet)
    models = study.scoring_models(prepared, cv, conv, sizes, SEED)
    interval, hidden_spend = study.calibrate_interval(prepared, conv, models)
    models.factors = tuple(interval.get("factors", (1.0, 1.0)))
    base = conv.featured[~prepared.known].reset_index(drop=True)
    spend = scoring.score_chunk(base, models)[0]["expected_spend"].to_numpy()
    fitted = {
        "prepared": prepared,
        "cv": cv,
        "holdout": holdout,
        "models": models,
        "base": base,
        "conversion": study._conversion_check(prepared, conv, spend, hidden_spend),
        "interval": interval,
        "base_rate": float(prepared.known.mean()),
    }
    path = workdir / "fitted.pkl"
    path.write_bytes(cloudpickle.dumps(fitted))  # the ridge has a local function
    return path


def synthetic_chunks(base: pd.DataFrame, total: int, chunk_size: int):
    """``total`` prospects replicated from ``base``, ``chunk_size`` at a time: new ids,
    share capital and age jittered (seeded per chunk: the same prospects every run)."""
    for start in range(0, total, chunk_size):
        count = min(chunk_size, total - start)
        number = np.arange(start, start + count)
        chunk = base.iloc[number % len(base)].reset_index(drop=True)
        rng = np.random.default_rng([SEED, start])
        chunk["cnpj_hash"] = [f"{value:064x}" for value in number]
        chunk["cnpj"] = [f"{value:014d}" for value in number]
        chunk["log_capital"] = chunk["log_capital"] + rng.normal(0.0, 0.3, count)
        chunk["age_years"] = (chunk["age_years"] + rng.uniform(-2.0, 2.0, count)).clip(lower=0)
        yield chunk


def child(fitted_path: Path, prospects: int, chunk: int, mode: str, cluster: str | None) -> dict:
    """One measured run (in its own process): score, rank and write N prospects."""
    import datetime as dt

    from flows.analysis import results, scoring, study
    from flows.analysis.study import Scored

    fitted = pickle.loads(fitted_path.read_bytes())
    output = fitted_path.parent / f"outputs-{prospects}"
    output.mkdir(exist_ok=True)
    frame_mb = 0.0
    started = time.perf_counter()
    chunks = synthetic_chunks(fitted["base"], prospects, chunk)
    if mode == "memory":
        frame = pd.concat(list(chunks), ignore_index=True)
        frame_mb = frame.memory_usage(deep=True).sum() / 1e6
        chunks = scoring.chunks_of(frame, chunk)
    made = time.perf_counter()
    scored_at = dt.datetime.now(dt.UTC)
    streamed, shortlisted = study.score_and_rank(
        chunks, fitted["models"], str(output), "bench", scored_at, 20, fitted["base_rate"],
        progress=lambda *_: None, cluster=cluster,
    )  # fmt: skip
    ranked = time.perf_counter()
    scored = Scored(streamed, streamed.prospects, shortlisted, fitted["conversion"],
                    fitted["interval"], scored_at)  # fmt: skip
    results.write(fitted["prepared"], fitted["cv"], fitted["holdout"], scored, None, "bench",
                  str(output), 20)  # fmt: skip
    written = time.perf_counter()
    sizes = {p.name: p.stat().st_size / 1e6 for p in output.iterdir()}
    return {
        "prospects": streamed.prospects,
        "category_rows": streamed.category_rows,
        "make_s": made - started,
        "score_rank_s": ranked - made,
        "write_s": written - ranked,
        "frame_mb": frame_mb,
        "files_mb": sizes,
    }


def tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def measure(fitted: Path, prospects: int, chunk: int, mode: str, cluster: str | None) -> dict:
    """Run ``child`` in a fresh process; its result and the tree's peak RSS."""
    command = [sys.executable, "-m", CHILD, str(fitted), str(prospects), str(chunk), mode,
               cluster or ""]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        peak = max(peak, tree_rss(root))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    out = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"the measured run failed ({process.returncode})")
    return {**json.loads(out.strip().splitlines()[-1]), "wall_s": wall, "peak_mb": peak / 1e6}


def run(workdir: Path, sizes: list[int], chunk: int, modes: list[str], cluster, categories):
    """Fit once (unless ``workdir`` has it), then measure each size in each mode."""
    from rich.console import Console
    from rich.table import Table

    fitted = workdir / "fitted.pkl"
    if not fitted.is_file():
        fitted = fit_base(workdir, categories)
    load = os.getloadavg()[0]
    table = Table(title=f"Scoring + outputs on synthetic prospects (chunks of {chunk:,}"
                  + (f", Dask {cluster}" if cluster else "") + ")")  # fmt: skip
    for column in ("prospects", "input", "prospect x category rows", "peak RSS MB (tree)",
                   "of it the frame MB", "score + rank s", "write s", "rows/s",
                   "µs / prospect"):  # fmt: skip
        table.add_column(column, justify="right")
    found = []
    for mode in modes:
        for size in sizes:
            result = measure(fitted, size, chunk, mode, cluster)
            found.append({**result, "input": mode})
            seconds = result["score_rank_s"] + result["write_s"]
            table.add_row(
                f"{result['prospects']:,}", mode, f"{result['category_rows']:,}",
                f"{result['peak_mb']:,.0f}", f"{result['frame_mb']:,.0f}",
                f"{result['score_rank_s']:,.1f}", f"{result['write_s']:,.1f}",
                f"{result['category_rows'] / seconds:,.0f}",
                f"{seconds / result['prospects'] * 1e6:,.0f}",
            )  # fmt: skip
    table.caption = (
        f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on "
        f"{os.cpu_count()} cores; peak RSS summed over the measured process and its children"
    )
    Console().print(table)
    (workdir / "scale.json").write_text(json.dumps(found, indent=2))
    return found


if __name__ == "__main__":
    path, count, size, how, where = sys.argv[1:6]
    print(json.dumps(child(Path(path), int(count), int(size), how, where or None)))
