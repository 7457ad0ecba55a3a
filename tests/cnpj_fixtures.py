"""Small CNPJ releases written byte-exactly in the Receita format, for the CNPJ tests.

Each row is a list of field texts; ``receita_line`` quotes and joins them exactly as the
Receita does (``"a";"b"``, Latin-1, LF). ``write_release`` writes a whole release of
small zips and returns the rows it wrote so tests can compare what was parsed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from flows.identifiers import cnpj_check_digits
from flows.municipalities import municipalities

RELEASE = "2026-05"
CNAES = ["5611201", "5611203", "5611204", "4711302", "4712100", "6201501"]
UFS_TOM = [(m.uf, m.tom) for m in municipalities()[::400]]


def receita_line(fields: list[str]) -> bytes:
    return (";".join(f'"{field}"' for field in fields) + "\n").encode("latin-1")


def write_zip(path: Path, lines: list[bytes], inner: str | None = None) -> Path:
    """One zip holding one headerless CSV, as the Receita ships them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner or f"K3241.K03200Y0.D61108.{path.stem.upper()}", b"".join(lines))
    return path


def basico(i: int) -> str:
    return f"{10_000_000 + i * 7919:08d}"[-8:]


def establishment(i: int) -> list[str]:
    body = basico(i) + f"{1 + i % 3:04d}"
    uf, tom = UFS_TOM[i % len(UFS_TOM)]
    return [
        body[:8], body[8:], cnpj_check_digits(body), "1" if i % 3 == 0 else "2",
        f"BAR DO JOÃO {i}" if i % 2 else "", "02" if i % 5 else "08",
        f"2020{1 + i % 12:02d}{1 + i % 28:02d}", "00" if i % 5 else "01", "",
        "" if i % 7 else "105", "0" if i % 11 == 0 else f"2019{1 + i % 12:02d}15",
        CNAES[i % len(CNAES)], "4711302,5611201" if i % 4 == 0 else "", "RUA",
        f"DAS FLORES {i}", str(i), "", "CENTRO", f"{1_000_000 + i:08d}", uf, tom,
        "11", f"9{i:07d}", "", "", "", "", f"contato{i}@example.com.br", "",
        "00000000",
    ]  # fmt: skip


def company(i: int) -> list[str]:
    capital = f"{i * 1000},{i % 100:02d}"
    nature = "2135" if i % 2 else "2062"
    return [basico(i), f"EMPRESA {i} LTDA", nature, "49", capital, "01" if i % 2 else "05", ""]


def partner(i: int) -> list[str]:
    return [
        basico(i), "2", f"SÓCIO NÚMERO {i}", f"***{i:06d}**", "49", f"2015{1 + i % 12:02d}01",
        "", "***000000**", "", "00", str(1 + i % 9),
    ]  # fmt: skip


def simples(i: int) -> list[str]:
    return [basico(i), "S", "20180101", "00000000", "N" if i % 2 else "S", "0", "0"]


DOMAINS = {
    "Cnaes": [["5611201", "Restaurantes e similares"], ["4711302", "Supermercados"]],
    "Municipios": [["7107", "SAO PAULO"], ["9707", "EXTERIOR"]],
    "Naturezas": [["2135", "Empresário (Individual)"], ["2062", "Sociedade Limitada"]],
    "Qualificacoes": [["49", "Sócio-Administrador"], ["00", "Não informada"]],
    "Paises": [["105", "BRASIL"], ["249", "ESTADOS UNIDOS"]],
    "Motivos": [["00", "SEM MOTIVO"], ["01", "EXTINCAO POR ENCERRAMENTO"]],
}
MAKERS = {"Empresas": company, "Estabelecimentos": establishment, "Socios": partner}


def write_release(
    folder: Path,
    rows_per_file: int = 50,
    parts: int = 2,
    bad_lines: dict[str, dict[int, bytes]] | None = None,
) -> dict[str, list[list[str]]]:
    """Write a release of small zips into ``folder``; ``bad_lines`` maps a zip name to
    ``{0-based line index: raw bytes}`` written in place of the good row there.
    Returns the good rows written, per zip name."""
    bad_lines = bad_lines or {}
    written: dict[str, list[list[str]]] = {}

    def emit(name: str, rows: list[list[str]]) -> None:
        lines, good = [], []
        for index, row in enumerate(rows):
            if index in bad_lines.get(name, {}):
                lines.append(bad_lines[name][index])
            else:
                lines.append(receita_line(row))
                good.append(row)
        write_zip(folder / name, lines)
        written[name] = good

    for stem, make in MAKERS.items():
        for part in range(parts):
            start = part * rows_per_file
            emit(f"{stem}{part}.zip", [make(i) for i in range(start, start + rows_per_file)])
    emit("Simples.zip", [simples(i) for i in range(rows_per_file * parts)])
    for stem, rows in DOMAINS.items():
        emit(f"{stem}.zip", rows)
    return written


def passthrough(dataset: str, table):
    """For tests of release and parsing mechanics: scrubbing is tested with the real
    policy elsewhere."""
    return table, None


def run_unscrubbed(lake, tmp_path: Path, source: Path, **options):
    """``run_release`` of ``RELEASE`` from ``source`` without scrubbing (0.1 % bad rows)."""
    from flows.sources.cnpj.release import run_release

    work = tmp_path / "work"
    return run_release(lake, RELEASE, str(source), passthrough, work, 0.001, **options)
