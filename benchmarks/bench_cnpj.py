"""CNPJ ingestion throughput and memory: ``python -m benchmarks.bench_cnpj --rows 5000000``.

Generates (once, cached in ``benchmarks/out/``) an Estabelecimentos zip in the Receita
format, then runs each contender in a fresh subprocess that reports its own wall time
and peak RSS: Big D end to end (unzip, decode, parse, type, check, scrub, write Parquet),
plain ``pandas.read_csv(dtype=str)`` + ``to_parquet``, and a bare untyped ``pyarrow.csv``
stream to Parquet (the practical ceiling). Big D also runs on ``--small`` rows to show
that time grows linearly and memory does not grow at all.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.measure import peak_rss_mb

OUT = Path(__file__).parent / "out"
BENCHMARK_KEY = b"benchmark-key-" * 3  # the pseudonym key (a test value, not a secret)
CHUNK_ROWS = 250_000
STREETS = np.array(
    [
        "DAS FLORES",
        "BRASIL",
        "SETE DE SETEMBRO",
        "SAO JOAO",
        "DOM PEDRO II",
        "GETULIO VARGAS",
        "XV DE NOVEMBRO",
        "TIRADENTES",
        "SANTOS DUMONT",
    ]
)
NAMES = np.array(
    [
        "BAR",
        "RESTAURANTE",
        "LANCHONETE",
        "MERCADINHO",
        "PADARIA",
        "EMPORIO",
        "SUPERMERCADO",
        "CHOPERIA",
        "CANTINA",
        "ACOUGUE",
    ]
)
OWNERS = np.array(
    [
        "DO ZE",
        "DA MARIA",
        "SAO JORGE",
        "BOM PRECO",
        "CENTRAL",
        "DA ESQUINA",
        "IRMAOS SILVA",
        "DO JOÃO",
        "ESTRELA",
        "DA PRAÇA",
    ]
)
BAIRROS = np.array(
    [
        "CENTRO",
        "JARDIM AMERICA",
        "VILA NOVA",
        "BELA VISTA",
        "SÃO JOSÉ",
        "BOA VISTA",
        "SANTA CRUZ",
        "LIBERDADE",
    ]
)
CNAES = np.array(["5611201", "5611203", "5611204", "4711302", "4712100", "4781400",
                  "9602501", "8211300", "4930202", "6201501"])  # fmt: skip


def _pick(rng: np.random.Generator, values: np.ndarray, n: int) -> pa.Array:
    return pa.array(values[rng.integers(0, len(values), n)])


def _digits(rng: np.random.Generator, n: int, width: int, low: int = 0) -> pa.Array:
    numbers = rng.integers(low, 10**width, n)
    return pc.utf8_lpad(pa.array(numbers.astype(str)), width, "0")


def _dates(rng: np.random.Generator, n: int) -> pa.Array:
    days = rng.integers(0, 365 * 40, n).astype("timedelta64[D]") + np.datetime64("1985-01-01")
    return pc.strftime(pa.array(days), "%Y%m%d")


def _chunk(rng: np.random.Generator, n: int) -> bytes:
    """``n`` Receita-format establishment lines, built column-wise."""
    from flows.municipalities import municipalities

    places = municipalities()
    tom = np.array([m.tom for m in places])
    uf = np.array([m.uf for m in places])
    where = rng.integers(0, len(places), n)
    empty = pa.array([""] * n)
    has_name = rng.random(n) < 0.6
    fantasia = pc.if_else(
        pa.array(has_name),
        pc.binary_join_element_wise(_pick(rng, NAMES, n), _pick(rng, OWNERS, n), " "),
        empty,
    )
    secondary = pc.if_else(
        pa.array(rng.random(n) < 0.3),
        pc.binary_join_element_wise(_pick(rng, CNAES, n), _pick(rng, CNAES, n), ","),
        empty,
    )
    email = pc.if_else(
        pa.array(rng.random(n) < 0.4),
        pc.binary_join_element_wise(_digits(rng, n, 6), pa.array(["@example.com.br"] * n), ""),
        empty,
    )
    fields = [
        _digits(rng, n, 8), _digits(rng, n, 4, 1), _digits(rng, n, 2),
        _pick(rng, np.array(["1", "2"]), n), fantasia, _pick(rng, np.array(["02", "08", "04"]), n),
        _dates(rng, n), _pick(rng, np.array(["00", "01", "21"]), n), empty, empty, _dates(rng, n),
        _pick(rng, CNAES, n), secondary, _pick(rng, np.array(["RUA", "AVENIDA", "TRAVESSA"]), n),
        _pick(rng, STREETS, n), pa.array(rng.integers(1, 3000, n).astype(str)),
        _pick(rng, np.array(["", "SALA 1", "LOJA A", "APTO 12"]), n), _pick(rng, BAIRROS, n),
        _digits(rng, n, 8), pa.array(uf[where]), pa.array(tom[where]), _digits(rng, n, 2, 11),
        _digits(rng, n, 8, 30_000_000), empty, empty, empty, empty, email, empty,
        pa.array(["00000000"] * n),
    ]  # fmt: skip
    quoted = [pc.binary_join_element_wise('"', field, '"', "") for field in fields]
    lines = pc.binary_join_element_wise(*quoted, ";")
    text = "\n".join(lines.to_pylist()) + "\n"
    return text.encode("latin-1")


def generate(rows: int) -> Path:
    """The cached Estabelecimentos zip of ``rows`` rows (seed fixed)."""
    path = OUT / f"estabelecimentos-{rows}" / "Estabelecimentos0.zip"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    partial = path.with_suffix(".partial")
    inner = "K3241.K03200Y0.D61108.ESTABELE"
    with (
        zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(inner, "w", force_zip64=True) as member,
    ):
        for start in range(0, rows, CHUNK_ROWS):
            member.write(_chunk(rng, min(CHUNK_ROWS, rows - start)))
    partial.rename(path)
    return path


# ---- contenders (each runs in its own process) ------------------------------------


def ingest_zip(zip_path: Path, out: Path, table_prefix: str) -> tuple[int, float]:
    """Big D's real CNPJ ingestion (parse, check, scrub, write) of ``zip_path`` into the
    folder lake ``out``: rows written and seconds taken (copying the zip in is not timed)."""
    from flows.lake import Lake
    from flows.sources.cnpj.ingest import ingest_file, scrub_with_policy
    from flows.sources.cnpj.layout import classify

    scrubber = scrub_with_policy(BENCHMARK_KEY)
    shutil.copy(zip_path, out / zip_path.name)
    try:
        start = time.perf_counter()
        summary = ingest_file(
            Lake.from_url(str(out)), classify(zip_path.name), zip_path.name,
            table_prefix=table_prefix, quarantine_key="quarantine/e.jsonl", scrubber=scrubber,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    finally:
        (out / zip_path.name).unlink()
    return summary.rows_written, seconds


def run_bigd(zip_path: Path, out: Path) -> dict:
    rows, seconds = ingest_zip(zip_path, out, "trusted/estabelecimentos")
    return {"rows": rows, "seconds": seconds}


def run_pandas(zip_path: Path, out: Path) -> dict:
    import pandas as pd

    from flows.sources.cnpj.layout import ESTABELECIMENTOS

    start = time.perf_counter()
    frame = pd.read_csv(
        zip_path, sep=";", header=None, names=ESTABELECIMENTOS.names, dtype=str,
        encoding="latin-1", keep_default_na=False,
    )  # fmt: skip
    frame.to_parquet(out / "pandas.parquet")
    return {"rows": len(frame), "seconds": time.perf_counter() - start}


def run_arrow(zip_path: Path, out: Path) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from flows.sources.cnpj.layout import ESTABELECIMENTOS

    names = ESTABELECIMENTOS.names
    start = time.perf_counter()
    rows = 0
    with zipfile.ZipFile(zip_path) as archive, archive.open(archive.infolist()[0]) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=names, encoding="latin1"),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
        with pq.ParquetWriter(out / "arrow.parquet", reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return {"rows": rows, "seconds": time.perf_counter() - start}


CONTENDERS = {"bigd": run_bigd, "pandas": run_pandas, "arrow": run_arrow}


def measure(contender: str, zip_path: Path) -> dict:
    """Run one contender in a fresh interpreter; its own peak RSS comes back with it."""
    out = OUT / "runs" / f"{contender}-{zip_path.parent.name}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "benchmarks.bench_cnpj", "--worker", contender,
               "--zip", str(zip_path), "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{contender} failed:\n{result.stderr[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _worker(contender: str, zip_path: Path, out: Path) -> None:
    figures = CONTENDERS[contender](zip_path, out)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=1_000_000, help="rows of the linearity run")
    parser.add_argument("--skip-pandas", action="store_true", help="pandas needs several GB")
    parser.add_argument("--worker", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.zip, args.out)
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    started = time.perf_counter()
    big, small = generate(args.rows), generate(args.small)
    console.print(f"generated/cached inputs in {time.perf_counter() - started:.1f} s "
                  f"({big.stat().st_size / 1e6:.0f} MB zipped at {args.rows:,} rows)")  # fmt: skip
    runs = [("Big D end to end", "bigd", big), ("Big D end to end", "bigd", small),
            ("bare pyarrow.csv -> Parquet", "arrow", big)]  # fmt: skip
    if not args.skip_pandas:
        runs.append(("pandas read_csv(dtype=str) + to_parquet", "pandas", big))
    results = {}
    for label, contender, path in runs:
        results[(contender, path)] = figures = measure(contender, path)
        figures["label"] = label

    table = Table(title=f"CNPJ Estabelecimentos ingestion ({args.rows:,} rows)")
    for column in ("contender", "rows", "seconds", "rows/s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "contender" else "right")
    for figures in results.values():
        table.add_row(figures["label"], f"{figures['rows']:,}", f"{figures['seconds']:.1f}",
                      f"{figures['rows'] / figures['seconds']:,.0f}",
                      f"{figures['peak_rss_mb']:,.0f}")  # fmt: skip
    console.print(table)
    bigd, bigd_small = results[("bigd", big)], results[("bigd", small)]
    arrow = results[("arrow", big)]
    rate = bigd["rows"] / bigd["seconds"]
    console.print(f"Big D: {rate:,.0f} rows/s (target >= 300,000), peak "
                  f"{bigd['peak_rss_mb']:,.0f} MB (target <= 1,024)")  # fmt: skip
    console.print(f"vs bare Arrow: {bigd['seconds'] / arrow['seconds']:.2f}x its time "
                  "(target <= 1.5x)")  # fmt: skip
    if ("pandas", big) in results:
        pandas = results[("pandas", big)]
        console.print(f"vs pandas: {pandas['seconds'] / bigd['seconds']:.2f}x faster "
                      "(target >= 2.5x)")  # fmt: skip
    ratio = (bigd["seconds"] / bigd_small["seconds"]) / (args.rows / args.small)
    console.print(f"linearity: {args.small:,} rows {bigd_small['seconds']:.1f} s / "
                  f"{bigd_small['peak_rss_mb']:,.0f} MB, {args.rows:,} rows "
                  f"{bigd['seconds']:.1f} s / {bigd['peak_rss_mb']:,.0f} MB "
                  f"(time per row ratio {ratio:.2f}, 1.00 = linear)")  # fmt: skip


if __name__ == "__main__":
    main()
