"""``bench_analysis --national-prospects N``: the whole analysis notebook at national size.

A national release has a few million active establishments in the scored channels. The
generator cannot make the ~15M establishments behind them in a benchmark's time, so the
warehouse is inflated instead: a small release is generated, ingested and loaded with the
real flows (setup, not measured), then its active channel establishments that are not the
partner's customers are copied inside the DuckDB warehouse, each copy a new establishment
(new ``cnpj_hash`` and ``cnpj``, the same company, place and channel, a start date moved by
up to two years), until the release has about N prospects. The partner's customers and
sales are unchanged, so every copy is a prospect.

Then the notebook runs exactly as ``run_analysis`` runs it (papermill, its kernel, the
schedule's default parameters) and the memory of this process and every descendant (the
kernel, any Dask worker) is sampled from outside every 0.2 s as PSS (``smaps_rollup``,
RSS beside it): the notebook's kernel process and its children, not this benchmark's
process, which holds the set-up's Prefect server and the flows. Papermill records each
cell's start and end: the table shows each section's wall time and its peak. Target: the
whole notebook at <= 2 GB at 3,000,000 prospects.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_PEAK_MB = 2_000
# The establishments a release carries per active channel establishment is irrelevant
# here: only the active channel establishments (the notebook's read) are copied.
ACTIVE_CHANNEL_SQL = """
FROM core.establishments AS e
JOIN core.channels AS ch ON ch.cnae = e.cnae_fiscal_principal
WHERE e.release = ? AND e.situacao_cadastral = '02' AND e.uf <> 'EX'
  AND e.cnpj_hash NOT IN (SELECT cnpj_hash FROM core.partner_establishments)
"""

COUNT_SQL = f"SELECT COUNT(DISTINCT e.cnpj_hash) {ACTIVE_CHANNEL_SQL}"  # establishments, not rows


def inflate(warehouse: Path, release: str, prospects: int) -> dict[str, int]:
    """Copy the release's prospects (active channel non-customers) inside the warehouse
    until it has about ``prospects`` of them; returns the counts before and after."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        base = con.execute(COUNT_SQL, [release]).fetchone()
        before = int(base[0]) if base else 0
        if before == 0:
            raise ValueError(f"release {release} has no prospects to copy")
        copies = max(0, -(-(prospects - before) // before))  # ceil
        if copies:
            con.execute(
                f"""
                CREATE TEMP TABLE seed AS SELECT e.* {ACTIVE_CHANNEL_SQL}
                """,
                [release],
            )
            columns = [row[0] for row in con.execute("DESCRIBE seed").fetchall()]
            replaced = {
                # the round (the count before it) in the hash: a later inflation's copies
                # of the same establishment are new ones too
                "cnpj_hash": f"sha256(s.cnpj_hash || ':{before}:' || CAST(r.copy AS VARCHAR))",
                "cnpj": "s.cnpj_basico || lpad(CAST((r.copy * 7919 + hash(s.cnpj_hash)) "
                "% 10000 AS VARCHAR), 4, '0') || right(s.cnpj, 2)",
                "data_inicio_atividade": "s.data_inicio_atividade - "
                "CAST((hash(s.cnpj_hash || CAST(r.copy AS VARCHAR)) % 730) AS INTEGER)",
            }
            select = ", ".join(replaced.get(c, f"s.{c}") for c in columns)
            con.execute(
                f"INSERT INTO core.establishments ({', '.join(columns)}) "
                f"SELECT {select} FROM seed AS s, range(1, ?) AS r(copy) "
                f"LIMIT ?",
                [copies + 1, prospects - before],
            )
        after = con.execute(COUNT_SQL, [release]).fetchone()
    return {"base_prospects": before, "prospects": int(after[0]) if after else 0}


def run(args) -> None:
    """Set up (or reuse) the base release, inflate it, run and measure the notebook."""
    from benchmarks.bench_analysis import RELEASE, set_up, time_notebook
    from benchmarks.bench_pipeline import MemorySampler

    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    started = time.perf_counter()
    if args.reuse and warehouse.is_file():
        os.environ["BIGD_DATA_DIR"] = str(workdir)
    else:
        base = args.base_establishments
        set_up(workdir, base, base * 5, args.seed)
    counts = inflate(warehouse, RELEASE, args.national_prospects)
    setup_s = time.perf_counter() - started
    load_before = os.getloadavg()[0]
    with MemorySampler(only="ipykernel") as sampler:  # the kernel and its children
        wall, cpu, sections, metrics, spans = time_notebook(workdir, with_spans=True)
    table = Table(
        title=f"The analysis notebook on {counts['prospects']:,} prospects (copies of a "
        f"{args.base_establishments:,}-establishment release's prospects)"
    )
    for column in ("section", "seconds", "peak PSS MB (kernel)", "peak RSS MB"):
        table.add_column(column, justify="right" if column != "section" else "left")
    for name, (start, end) in spans.items():
        table.add_row(
            name,
            f"{sections[name]:,.1f}",
            f"{sampler.peak_between(start, end) / 1e6:,.0f}",
            f"{sampler.peak_between(start, end, rss=True) / 1e6:,.0f}",
        )
    peak = sampler.peak / 1e6
    verdict = "ok" if peak <= TARGET_PEAK_MB else "OVER"
    table.add_row(
        "notebook (wall, kernel start included)",
        f"{wall:,.1f}",
        f"{peak:,.0f} ({verdict}, target {TARGET_PEAK_MB:,})",
        f"{sampler.peak_rss / 1e6:,.0f}",
    )
    rows = metrics["rows"]
    table.caption = (
        f"{dt.date.today()}, {os.cpu_count()} cores, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after; kernel CPU {cpu:,.0f} s; "
        f"{rows['prospect_category_rows']:,} prospect x category rows; setup "
        f"(generate, ingest, load, inflate) {setup_s:,.0f} s, not measured"
    )
    Console().print(table)
