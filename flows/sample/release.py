"""Write one coherent sample release (CNPJ zips, IBGE public files, partner JSON), streamed."""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from flows.sample import acquisition, partner, public, receita
from flows.sample.cnpj import draw_companies, empresas_chunk, simples_chunk, socios_chunk
from flows.sample.establishments import establishments_chunk
from flows.sample.receita import BadRow, ReceitaZip, inner_name
from flows.sample.world import RELEASE_DATE, SALES_END, SALES_START, build_world

CHUNK_ESTABLISHMENTS = 100_000
ESTABLISHMENTS_PER_PART = 200_000
MAX_PARTS = 10


@dataclass
class SampleSummary:
    """What was written: counts per file, planted bad rows, partner sizes, timing."""

    out: Path
    seed: int
    establishments: int
    parts: int
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    partner: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    oracle: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        """A few lines for the terminal."""
        totals: Counter = Counter()
        for name, rows in self.rows.items():
            if name.endswith(".zip"):
                totals[re.sub(r"\d*\.zip$", "", name)] += rows
        lines = [
            f"Sample release (seed {self.seed}) written to {self.out} in {self.seconds:.1f} s",
            "  cnpj/: " + ", ".join(f"{k} {v:,}" for k, v in sorted(totals.items())),
            f"  planted bad rows: {len(self.bad_rows)} (see MANIFEST.json)",
            "  partner/: " + ", ".join(f"{k} {v:,}" for k, v in self.partner.items()),
            f"  public/: {public.MICRODATA} (POF fixed-width), {public.POPULATION}",
            f"  {acquisition.GROUND_TRUTH_DIR}/{acquisition.PROPENSITY_FILE} (never ingested): "
            f"oracle top-decile lift {self.oracle.get('top_decile_lift', float('nan')):.2f}, "
            f"AUC {self.oracle.get('auc', float('nan')):.3f}",
        ]
        return "\n".join(lines)


def part_count(establishments: int) -> int:
    """One zip part per ~200k establishments, between 1 and 10 like real releases."""
    return max(1, min(MAX_PARTS, math.ceil(establishments / ESTABLISHMENTS_PER_PART)))


def generate_release(
    out: Path | str, *, establishments: int, seed: int, progress: bool = True
) -> SampleSummary:
    """Write the release under ``out``; the same seed and size give the same bytes."""
    if establishments < 1:
        raise ValueError("establishments must be at least 1")
    started = time.perf_counter()
    out = Path(out)
    folders = {
        name: out / name for name in ("cnpj", "public", "partner", acquisition.GROUND_TRUTH_DIR)
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(folders["cnpj"])
    world = build_world(seed)
    parts = part_count(establishments)
    summary = SampleSummary(out=out, seed=seed, establishments=establishments, parts=parts)

    economy, members = public.write_microdata(folders["public"], world, seed)
    for member, rows in members.items():
        summary.rows[f"public/{public.MICRODATA}/{member}"] = rows
    summary.rows[f"public/{public.POPULATION}"] = public.write_population(
        folders["public"], world, seed
    )

    customers, stats, examples = _write_registry(
        folders["cnpj"], folders[acquisition.GROUND_TRUTH_DIR], world, summary, seed, progress
    )
    for name, rows in receita.write_domain_tables(
        folders["cnpj"], world.release_stamp, world.zip_date_time
    ).items():
        summary.rows[name] = rows
    summary.partner = partner.write_partner(
        folders["partner"], world, economy, customers, establishments, seed
    )
    summary.stats = dict(sorted(stats.items()))
    _write_manifest(out, summary, examples)
    summary.seconds = time.perf_counter() - started
    return summary


def _remove_stale_parts(cnpj_dir: Path) -> None:
    """Drop zip parts of an earlier, larger release in the same folder (they'd be mixed in)."""
    for path in cnpj_dir.glob("*.zip"):
        if re.fullmatch(r"(Empresas|Estabelecimentos|Socios)\d+\.zip", path.name):
            path.unlink()


def _write_registry(
    cnpj_dir: Path, truth_dir: Path, world, summary: SampleSummary, seed: int, progress: bool
):
    """Stream the four big tables chunk by chunk (and the candidates' true propensities to
    the ground truth); return the partner's customers."""
    stamp, when = world.release_stamp, world.zip_date_time
    route = acquisition.coverage(world, seed)
    truth = pq.ParquetWriter(truth_dir / acquisition.PROPENSITY_FILE, acquisition.PROPENSITY_SCHEMA)
    propensities: list[np.ndarray] = []
    won: list[np.ndarray] = []
    bounds = np.linspace(0, summary.establishments, summary.parts + 1).astype(np.int64)
    rate = partner.customer_rate(summary.establishments)
    simples = ReceitaZip(cnpj_dir / "Simples.zip", inner_name("SIMPLES", stamp), when)
    customer_chunks: list[dict] = []
    stats: Counter = Counter()
    examples: dict[str, list[str]] = {}
    first_company = chunk_number = 0
    bar = Progress(
        TextColumn("sample"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not progress,
        transient=True,
    )
    with bar:
        task = bar.add_task("establishments", total=summary.establishments)
        for part in range(summary.parts):
            writers = {
                kind: ReceitaZip(
                    cnpj_dir / f"{stem}{part}.zip", inner_name(kind, stamp, part), when
                )
                for stem, kind in (
                    ("Empresas", "EMPRECSV"),
                    ("Estabelecimentos", "ESTABELE"),
                    ("Socios", "SOCIOCSV"),
                )
            }
            for start in range(bounds[part], bounds[part + 1], CHUNK_ESTABLISHMENTS):
                n = int(min(CHUNK_ESTABLISHMENTS, bounds[part + 1] - start))
                rng = np.random.default_rng([seed, 2, chunk_number])
                companies = draw_companies(world, rng, first_company, n, seed)
                tables = {"EMPRECSV": empresas_chunk(rng, companies)}
                tables["ESTABELE"], customers, candidates = establishments_chunk(
                    rng, world, companies, rate, route
                )
                truth.write_table(candidates)
                propensities.append(candidates.column("propensity").to_numpy())
                won.append(candidates.column("customer").to_numpy(zero_copy_only=False))
                tables["SOCIOCSV"] = socios_chunk(rng, world, companies)
                simples_rows = simples_chunk(rng, world, companies)
                for writer, table in [
                    *((writers[k], t) for k, t in tables.items()),
                    (simples, simples_rows),
                ]:
                    summary.bad_rows.extend(
                        BadRow(writer.path.name, writer.rows + int(row) + 1, kind)
                        for row, kind in zip(table.planted.rows, table.planted.kinds, strict=True)
                    )
                    writer.write_lines(table.lines)
                customer_chunks.append(customers)
                stats.update(companies.stats)
                for key, values in companies.examples.items():
                    examples.setdefault(key, values)
                first_company += len(companies.start)
                chunk_number += 1
                bar.advance(task, n)
            for writer in writers.values():
                writer.close()
                summary.rows[writer.path.name] = writer.rows
    simples.close()
    truth.close()
    summary.rows[simples.path.name] = simples.rows
    summary.oracle = acquisition.oracle(np.concatenate(propensities), np.concatenate(won))
    customers = {
        key: (
            pa.concat_arrays([c[key] for c in customer_chunks])
            if key == "cnpj"
            else np.concatenate([c[key] for c in customer_chunks])
        )
        for key in customer_chunks[0]
    }
    return customers, stats, examples


def _write_manifest(out: Path, summary: SampleSummary, examples: dict) -> None:
    """MANIFEST.json: seed, counts, planted bad rows and personal data, signal parameters."""
    manifest = {
        "seed": summary.seed,
        "establishments": summary.establishments,
        "release_date": RELEASE_DATE.isoformat(),
        "parts": summary.parts,
        "encoding": {
            "cnpj": "latin-1",
            "pof_microdata": "ascii (fixed width, CRLF)",
            "population": "xlsx",
            "partner": "utf-8",
        },
        "zip_compression": f"deflate level {receita.COMPRESS_LEVEL}",
        "counts": dict(sorted(summary.rows.items())),
        "malformed_rows": [
            {"file": f"cnpj/{bad.file}", "line": bad.line, "kind": bad.kind}
            for bad in summary.bad_rows
        ],
        "planted_personal_data": {**summary.stats, "examples": examples},
        "partner": {
            **summary.partner,
            "sales_from": SALES_START.isoformat(),
            "sales_until": SALES_END.isoformat(),
        },
        "demand_signal": partner.signal_parameters(),
        "acquisition": {**acquisition.acquisition_parameters(), "oracle": summary.oracle},
    }
    (out / "MANIFEST.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=int), encoding="utf-8"
    )
