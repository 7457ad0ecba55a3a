"""Receita Federal file mechanics: zip parts with fixed timestamps, planted bad rows."""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.municipalities import TOM_EXTERIOR, municipalities
from flows.sample import text, vocab

ZipDateTime = tuple[int, int, int, int, int, int]  # a zip member's timestamp

# zlib level 1: ~4x faster than the default 6 and still ~4x smaller than the CSV,
# which is what keeps 1M establishments under a minute.
COMPRESS_LEVEL = 1
ENCODING = "latin-1"
BAD_ROW_RATE = 0.0005
IMPOSSIBLE_DATES = ("20231345", "20220230", "20210431", "20191300", "19990000")


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    kind: str


class ReceitaZip:
    """One zip holding one headerless CSV entry, streamed chunk by chunk."""

    def __init__(self, path: Path, inner_name: str, date_time: ZipDateTime):
        self.path = path
        self.rows = 0
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)
        info = zipfile.ZipInfo(inner_name, date_time=date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        # ZipFile.open(ZipInfo) takes the level from here (a CPython attribute, not in stubs)
        info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
        info.external_attr = 0o644 << 16
        info.create_system = 3
        self._entry = self._zip.open(info, "w", force_zip64=True)

    def write_lines(self, lines: pa.Array) -> None:
        """Append lines (UTF-8 Arrow strings) transcoded to Latin-1."""
        self._entry.write(text.concat_bytes(lines, ENCODING))
        self.rows += len(lines)

    def close(self) -> None:
        self._entry.close()
        self._zip.close()


@dataclass
class Planted:
    """Bad rows chosen for one chunk: local row indices and their kinds."""

    rows: np.ndarray
    kinds: list[str] = field(default_factory=list)


def choose_bad_rows(rng: np.random.Generator, n: int, has_dates: bool) -> Planted:
    """At most ``BAD_ROW_RATE`` of ``n`` rows (and one in any chunk of 2,000+ rows)."""
    count = int(n * BAD_ROW_RATE)
    if n >= 1 / BAD_ROW_RATE:
        count = max(count, 1)
    rows = np.sort(rng.choice(n, size=count, replace=False)) if count else np.zeros(0, int)
    kinds = ["missing_field", "extra_field"] + (["bad_date"] if has_dates else [])
    chosen = [kinds[i] for i in rng.integers(0, len(kinds), count)]
    if has_dates and chosen:
        chosen[0] = "bad_date"  # so even a small file has both kinds of trouble to quarantine
    return Planted(rows=rows, kinds=chosen)


def plant_bad_dates(
    rng: np.random.Generator, columns: list[pa.Array], planted: Planted, date_columns: list[int]
) -> None:
    """Overwrite one date field of each ``bad_date`` row with an impossible date."""
    for row, kind in zip(planted.rows, planted.kinds, strict=True):
        if kind != "bad_date":
            continue
        col = date_columns[int(rng.integers(0, len(date_columns)))]
        mask = np.zeros(len(columns[col]), dtype=bool)
        mask[row] = True
        bad = IMPOSSIBLE_DATES[int(rng.integers(0, len(IMPOSSIBLE_DATES)))]
        columns[col] = pc.replace_with_mask(columns[col], pa.array(mask), pa.array([bad]))


def plant_field_count(lines: pa.Array, planted: Planted) -> pa.Array:
    """Drop the last field of ``missing_field`` rows, add one to ``extra_field`` rows."""
    targets = [
        (int(row), kind)
        for row, kind in zip(planted.rows, planted.kinds, strict=True)
        if kind != "bad_date"
    ]
    if not targets:
        return lines
    mask = np.zeros(len(lines), dtype=bool)
    replacements = []
    for row, kind in targets:
        line = lines[row].as_py()
        mask[row] = True
        if kind == "missing_field":
            replacements.append(line[: line.rfind(";")] + "\n")
        else:
            replacements.append(line[:-1] + ';""\n')
    return pc.replace_with_mask(lines, pa.array(mask), pa.array(replacements, pa.string()))


def inner_name(kind: str, release_stamp: str, part: int | None = None) -> str:
    """Receita-style inner CSV names, e.g. ``K3241.K03200Y0.D61108.ESTABELE``."""
    if kind == "SIMPLES":
        return f"F.K03200$W.SIMPLES.CSV.{release_stamp}"
    if part is not None:
        return f"K3241.K03200Y{part}.{release_stamp}.{kind}"
    return f"F.K03200$Z.{release_stamp}.{kind}"


def _ascii_upper(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return folded.upper()


def domain_tables() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """The six code;description tables: zip stem -> (inner kind, rows)."""
    cnaes = [(code, desc) for code, desc, _ in vocab.CHANNELS] + list(vocab.OTHER_CNAES)
    naturezas = [(code, desc) for code, desc, *_ in vocab.NATUREZAS] + [vocab.NATUREZA_MEI]
    seen: dict[str, str] = {}
    for municipality in municipalities():
        # Receita's own table names each TOM code once, upper case without accents.
        seen.setdefault(municipality.tom, _ascii_upper(municipality.name))
    seen[TOM_EXTERIOR] = "EXTERIOR"
    return {
        "Cnaes": ("CNAECSV", sorted(cnaes)),
        "Municipios": ("MUNICCSV", sorted(seen.items())),
        "Naturezas": ("NATJUCSV", sorted(naturezas)),
        "Qualificacoes": ("QUALSCSV", list(vocab.QUALIFICACOES)),
        "Paises": ("PAISCSV", sorted(vocab.PAISES)),
        "Motivos": ("MOTICSV", list(vocab.MOTIVOS)),
    }


def write_domain_tables(folder: Path, release_stamp: str, date_time: ZipDateTime) -> dict:
    """Write the six domain zips; return rows per file name."""
    counts = {}
    for stem, (kind, rows) in domain_tables().items():
        writer = ReceitaZip(folder / f"{stem}.zip", inner_name(kind, release_stamp), date_time)
        codes = pa.array([code for code, _ in rows], pa.string())
        descriptions = pa.array([desc for _, desc in rows], pa.string())
        writer.write_lines(text.receita_lines([codes, descriptions]))
        writer.close()
        counts[f"{stem}.zip"] = len(rows)
    return counts
