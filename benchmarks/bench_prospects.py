"""Does the prospect ranking find real customers? Hide customers BEFORE ingestion and see.

    python -m benchmarks.bench_prospects [--establishments 200000] [--seed 7] [--hide 0.2]

Generates a release, removes a random ``--hide`` share of the partner's customers (and
all their sales) from the partner JSON before anything is ingested, ingests and loads it
with the real flows into a DuckDB warehouse, runs the analysis notebook exactly as
``run_analysis`` does (papermill, default parameters), then ranks: where do the removed
customers land in ``prospects.parquet``? Compared with the oracle, which ranks the same
prospects by the generator's true propensity (``ground_truth/propensity.parquet``,
never ingested). Prints the analysis's own hidden-customer check next to this external
one. Targets: top-decile lift >= 3, AUC >= 0.75, lift >= 80 % of the oracle's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

RELEASE = "2026-11"
console = Console(stderr=True)


def hide_customers(partner_dir: Path, share: float, seed: int) -> set[str]:
    """Remove ``share`` of the customers and their sales from the partner's JSON files."""
    listing = json.loads((partner_dir / "establishments.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng([seed, 404])
    hidden = {row["cnpj"] for row in listing if rng.random() < share}
    kept = [row for row in listing if row["cnpj"] not in hidden]
    (partner_dir / "establishments.json").write_text(json.dumps(kept), encoding="utf-8")
    sales = json.loads((partner_dir / "sales.json").read_text(encoding="utf-8"))
    sales = [row for row in sales if row["cnpj"] not in hidden]
    (partner_dir / "sales.json").write_text(json.dumps(sales, ensure_ascii=False), encoding="utf-8")
    return hidden


def set_up(workdir: Path, establishments: int, seed: int, share: float) -> dict:
    """Generate, hide, serve, ingest and load."""
    from flows.cnpj_flow import ingest_cnpj
    from flows.config import get_settings
    from flows.load_flow import load_warehouse
    from flows.partner_flow import ingest_partner
    from flows.public_flow import ingest_public
    from flows.sample import generate_release
    from flows.sample.partner_api import PartnerApiServer

    sample = workdir / "sample"
    started = time.perf_counter()
    summary = generate_release(sample, establishments=establishments, seed=seed)
    hidden = hide_customers(sample / "partner", share, seed)
    key = secrets.token_urlsafe(16)
    with PartnerApiServer(sample, key=key) as api:
        os.environ.update(
            BIGD_DATA_DIR=str(workdir), BIGD_PARTNER_API_URL=api.url, BIGD_PARTNER_API_KEY=key
        )
        get_settings.cache_clear()
        ingest_cnpj(release=RELEASE, source=str(sample / "cnpj"))
        ingest_public(source=str(sample))
        ingest_partner(since=dt.date(2025, 11, 1), until=dt.date(2026, 10, 31))
        load_warehouse(release=RELEASE)
    setup = {
        "hidden": sorted(hidden),
        "customers": summary.partner["establishments"],
        "setup_s": time.perf_counter() - started,
    }
    (workdir / "hidden_customers.json").write_text(json.dumps(setup))
    return setup


def run_notebook(workdir: Path) -> tuple[Path, float]:
    import ast

    import papermill

    from flows import notebooks as runner

    output_dir = workdir / "outputs"
    declared = papermill.inspect_notebook(str(runner.demand_notebook()))
    parameters = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    parameters.update(run_id="bench-prospects", output_dir=str(output_dir))
    runner.check_parameters(runner.demand_notebook(), parameters)
    started = time.perf_counter()
    runner.execute(
        runner.demand_notebook(),
        workdir / "demand_ensemble.ipynb",
        parameters,
        cell_timeout=1_800,
        time_limit=3_600,
    )
    return output_dir, time.perf_counter() - started


def external_check(output_dir: Path, workdir: Path, hidden: set[str], truth: Path) -> dict:
    """Lift and AUC of the published ranking and of the oracle, on the same prospects."""
    import duckdb

    from flows.sample.acquisition import ranking_quality

    prospects = pq.read_table(
        output_dir / "prospects.parquet", columns=["cnpj_hash", "p_convert", "rank"]
    ).to_pandas()
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        ids = con.execute(
            "SELECT DISTINCT cnpj_hash, cnpj FROM core.establishments WHERE release = ?",
            [RELEASE],
        ).df()
    prospects = prospects.merge(ids, on="cnpj_hash", how="left")
    propensity = pq.read_table(truth, columns=["cnpj", "propensity"]).to_pandas()
    prospects = prospects.merge(propensity, on="cnpj", how="left")
    positive = prospects["cnpj"].isin(hidden).to_numpy()
    by_revenue = ranking_quality(-prospects["rank"].to_numpy(), positive)
    by_p = ranking_quality(prospects["p_convert"].to_numpy(), positive)
    oracle = ranking_quality(prospects["propensity"].fillna(0).to_numpy(), positive)
    return {
        "prospects": len(prospects),
        "hidden_among_prospects": int(positive.sum()),
        "without_truth": int(prospects["propensity"].isna().sum()),
        "expected_revenue": by_revenue,
        "p_convert": by_p,
        "oracle": oracle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hide", type=float, default=0.2, help="share of customers removed")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: temporary)")
    parser.add_argument(
        "--reuse", action="store_true", help="analyse the --workdir set up by an earlier run"
    )
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    with tempfile.TemporaryDirectory(prefix="bench-prospects-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        saved = workdir / "hidden_customers.json"
        if args.reuse and saved.is_file():
            os.environ["BIGD_DATA_DIR"] = str(workdir)
            setup = {**json.loads(saved.read_text()), "setup_s": 0.0}
        else:
            setup = set_up(workdir, args.establishments, args.seed, args.hide)
        output_dir, seconds = run_notebook(workdir)
        truth = workdir / "sample" / "ground_truth" / "propensity.parquet"
        check = external_check(output_dir, workdir, set(setup["hidden"]), truth)
        internal = json.loads((output_dir / "metrics.json").read_text())["conversion"]
    table = Table(
        title=f"Prospects: {args.establishments:,} establishments, seed {args.seed}, "
        f"{len(setup['hidden']):,} of {setup['customers']:,} customers hidden before ingestion"
    )
    for column in ("ranking", "top-decile lift", "AUC", "lift / oracle"):
        table.add_column(column, justify="left" if column == "ranking" else "right")
    oracle = check["oracle"]["top_decile_lift"]
    rows = [
        ("oracle (true propensity)", check["oracle"]),
        ("published rank (expected revenue)", check["expected_revenue"]),
        ("P(convert)", check["p_convert"]),
        ("analysis's own check (hidden in the run)", internal),
    ]
    for name, found in rows:
        lift = found["top_decile_lift"]
        table.add_row(name, f"{lift:.2f}", f"{found['auc']:.3f}", f"{lift / oracle:.0%}")
    table.caption = (
        f"{check['prospects']:,} prospects, {check['hidden_among_prospects']:,} hidden customers "
        f"among them; setup {setup['setup_s']:.0f} s, notebook {seconds:.0f} s. "
        "Targets: lift >= 3, AUC >= 0.75, lift >= 80 % of the oracle's."
    )
    Console().print(table)


if __name__ == "__main__":
    main()
