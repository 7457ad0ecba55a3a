"""POF microdata read + aggregation speed: ``python -m benchmarks.bench_pof [--scale 1.0]``.

Writes a ``Dados_20230713.zip`` with the three members ``pof_food_spending`` reads, at their
real sizes (CADERNETA_COLETIVA 789,995 lines, DESPESA_INDIVIDUAL 1,836,032, MORADOR 178,431;
``--scale`` shrinks them) in the published fixed-width layouts, then reads and aggregates it
to spending per family per UF x partner category twice, each in a fresh process so peak
memory is its own: Big D's reader (``flows.sources.public.pof``) and ``pandas.read_fwf`` with
the same aggregation in pandas. Prints wall time, peak RSS, and whether the results agree.
Target for Big D at full size: at most 30 s and 1 GB on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.measure import peak_rss_mb
from flows.municipalities import UF_BY_IBGE_PREFIX
from flows.sample.fixed_width import format_records
from flows.sources.public import load_catalog
from flows.sources.public.pof import FAMILY

REAL_LINES = {"CADERNETA_COLETIVA": 789_995, "DESPESA_INDIVIDUAL": 1_836_032, "MORADOR": 178_431}
CHUNK = 200_000
PLACES = {"PESO_FINAL": 8, "FATOR_ANUALIZACAO": 0, "V9011": 0, "V8000_DEFLA": 2, "RENDA_TOTAL": 2}


def write_zip(path: Path, scale: float, seed: int) -> dict[str, int]:
    """The three members at ``scale`` x their real line counts; returns the lines written."""
    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    persons = max(1, round(REAL_LINES["MORADOR"] * scale))
    families = max(1, persons // 3)
    ufs = np.array(sorted(UF_BY_IBGE_PREFIX))
    family = {
        "UF": ufs[rng.integers(0, len(ufs), families)],
        "ESTRATO_POF": rng.integers(1, 13, families),
        "TIPO_SITUACAO_REG": rng.integers(1, 3, families),
        "COD_UPA": rng.integers(0, 10**7, families),
        "NUM_DOM": rng.integers(1, 20, families),
        "NUM_UC": rng.integers(1, 3, families),
        "PESO_FINAL": np.round(rng.uniform(50, 3000, families), 8),
        "RENDA_TOTAL": np.round(rng.lognormal(8.3, 0.8, families), 2),
    }
    family["ESTRATO_POF"] += family["UF"].astype(int) * 100
    family["COD_UPA"] = np.char.add(family["UF"], np.char.zfill(family["COD_UPA"].astype(str), 7))
    mapped = np.array(sorted(catalog.category_map.category_of_code))
    lines = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member, real in REAL_LINES.items():
            count = persons if member == "MORADOR" else max(1, round(real * scale))
            layout = catalog.layouts[member]
            with archive.open(f"{member}.txt", "w", force_zip64=True) as out:
                for start in range(0, count, CHUNK):
                    size = min(CHUNK, count - start)
                    owner = (
                        np.arange(start, start + size) // 3 % families
                        if member == "MORADOR"
                        else rng.integers(0, families, size)
                    )
                    values = {key: column[owner] for key, column in family.items()}
                    if member == "MORADOR":
                        values["COD_INFORMANTE"] = np.arange(start, start + size) % 3 + 1
                    else:
                        # Half the records are partner categories, the rest other products.
                        other = rng.integers(63001, 99999, size)
                        code = np.where(rng.random(size) < 0.5, rng.choice(mapped, size), other)
                        values["V9001"] = code * 100 + rng.integers(0, 100, size)
                        values["V8000_DEFLA"] = np.round(rng.lognormal(2.5, 1.0, size), 2)
                        values["FATOR_ANUALIZACAO"] = np.where(rng.random(size) < 0.8, 52, 12)
                    if member == "DESPESA_INDIVIDUAL":
                        values["QUADRO"] = rng.choice([24, 24, 31, 41, 45, 47], size)
                        values["V9011"] = np.where(rng.random(size) < 0.3, 3.0, np.nan)
                        values["COD_INFORMANTE"] = rng.integers(1, 4, size)
                    out.write(format_records(layout, values, PLACES))
            lines[member] = count
    return lines


def bigd(path: Path) -> list[tuple]:
    from flows.sources.public.datasets import RawFile
    from flows.sources.public.pof import pof_food_spending

    catalog = load_catalog()
    entry = catalog.datasets["pof_food_spending"]
    table = pof_food_spending(entry, catalog, RawFile(path.name, lambda: path.open("rb")))
    return sorted(
        (r["uf_code"], r["category"], r["monthly_spending_per_family_brl"], r["records"])
        for r in table.to_pylist()
    )


def pandas_read_fwf(path: Path) -> list[tuple]:
    """The same method with ``pandas.read_fwf`` and pandas group-bys."""
    import pandas as pd

    catalog = load_catalog()
    category = pd.Series(catalog.category_map.category_of_code)

    def read(archive: zipfile.ZipFile, member: str, names: list[str]) -> pd.DataFrame:
        layout = catalog.layouts[member]
        fields = [layout.field(name) for name in names]
        with archive.open(f"{member}.txt") as stream:
            return pd.read_fwf(
                stream,
                colspecs=[(f.start - 1, f.start - 1 + f.width) for f in fields],
                names=names,
                header=None,
                dtype={"UF": str, "COD_UPA": str},
            )

    spending = ["UF", "V9001", "V8000_DEFLA", "FATOR_ANUALIZACAO", "PESO_FINAL"]
    with zipfile.ZipFile(path) as archive:
        diary = read(archive, "CADERNETA_COLETIVA", spending)
        away = read(archive, "DESPESA_INDIVIDUAL", [*spending, "QUADRO", "V9011"])
        persons = read(archive, "MORADOR", [*FAMILY, "PESO_FINAL"])
    away = away[away["QUADRO"] == 24]
    records = pd.concat([diary[spending], away[spending]], ignore_index=True)
    records["category"] = (records["V9001"] // 100).map(category)
    records = records.dropna(subset=["category", "V8000_DEFLA"])
    records["monthly"] = (
        records["V8000_DEFLA"] * records["FATOR_ANUALIZACAO"] * records["PESO_FINAL"] / 12
    )
    totals = records.groupby(["UF", "category"])["monthly"].agg(["sum", "count"])
    families = persons.drop_duplicates(FAMILY).groupby("UF")["PESO_FINAL"].sum()
    totals["per_family"] = totals["sum"] / families.reindex(totals.index.get_level_values(0)).values
    return sorted(
        (uf, name, float(row.per_family), int(row["count"]))
        for (uf, name), row in totals.iterrows()
    )


ENGINES = {"Big D (Arrow slicing, streamed)": bigd, "pandas.read_fwf": pandas_read_fwf}


def child(engine: str, path: Path) -> None:
    started = time.perf_counter()
    rows = ENGINES[engine](path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "rows": rows}))


def run(scale: float, seed: int) -> Table:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Dados_20230713.zip"
        started = time.perf_counter()
        lines = write_zip(path, scale, seed)
        written = time.perf_counter() - started
        results = {}
        for engine in ENGINES:
            command = [sys.executable, "-m", "benchmarks.bench_pof", "--child", engine, str(path)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[engine] = json.loads(done.stdout.splitlines()[-1])
        size = path.stat().st_size
    first, second = (results[e]["rows"] for e in ENGINES)
    agree = len(first) == len(second) and all(
        a[:2] == b[:2] and a[3] == b[3] and abs(a[2] - b[2]) <= 1e-9 * max(1.0, abs(a[2]))
        for a, b in zip(first, second, strict=True)
    )
    title = (
        f"POF read + aggregate: {', '.join(f'{m} {n:,}' for m, n in lines.items())} lines "
        f"(zip {size / 1e6:.0f} MB, written in {written:.0f} s); results agree: "
        f"{'yes' if agree else 'NO'}"
    )
    table = Table(title=title)
    for column in ("reader", "wall s", "peak RSS MB", "UF x category rows"):
        table.add_column(column, justify="left" if column == "reader" else "right")
    for engine, result in results.items():
        table.add_row(
            engine, f"{result['seconds']:.1f}", f"{result['peak_mb']:.0f}", f"{len(result['rows'])}"
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ZIP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    Console().print(run(args.scale, args.seed))


if __name__ == "__main__":
    main()
