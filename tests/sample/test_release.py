"""The sample release's CNPJ files, read back by an independent reader.

The reader here is the standard ``csv`` module on Latin-1 text plus a check-digit
function written in this file: none of the project's own parsing code is used, so
a bug in the generator cannot hide behind the same bug in a shared helper.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from cidade_ibge_tom.cidade import cidade as package_crosswalk

from flows.sample import generate_release
from flows.sample.release import part_count

ESTABLISHMENTS = 5_000
COLUMNS = {"Empresas": 7, "Estabelecimentos": 30, "Socios": 11, "Simples": 7}
DOMAINS = ("Cnaes", "Municipios", "Naturezas", "Qualificacoes", "Paises", "Motivos")
DATE_COLUMNS = {
    "Empresas": (),
    "Estabelecimentos": (6, 10, 29),
    "Socios": (5,),
    "Simples": (2, 3, 5, 6),
}
QUOTED_LINE = re.compile(r'"[^"\n]*"(;"[^"\n]*")*\n')
CHANNELS = {
    "5611201",
    "5611203",
    "5611204",
    "5611205",
    "5620102",
    "4711301",
    "4711302",
    "4712100",
    "4691500",
    "4637107",
}


def _dv(body: str) -> str:
    """Independent CNPJ check digits (value of a character = ASCII code - 48)."""
    values = [ord(c) - 48 for c in body]
    for weights in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        values.append(0 if remainder < 2 else 11 - remainder)
    return f"{values[-2]}{values[-1]}"


def valid_cnpj(cnpj: str) -> bool:
    return bool(re.fullmatch(r"[0-9A-Z]{12}[0-9]{2}", cnpj)) and _dv(cnpj[:12]) == cnpj[12:]


def valid_cpf(cpf: str) -> bool:
    digits = [int(c) for c in cpf]
    for size in (9, 10):
        remainder = (
            sum(d * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True)) % 11
        )
        if digits[size] != (0 if remainder < 2 else 11 - remainder):
            return False
    return True


def valid_date(value: str) -> bool:
    if value in ("0", "00000000"):
        return True
    try:
        return date(1900, 1, 1) <= datetime.strptime(value, "%Y%m%d").date() <= date(2026, 11, 8)
    except ValueError:
        return False


def read_zip(path: Path) -> tuple[str, list[str]]:
    """(inner name, raw Latin-1 lines with their newline) of a one-entry zip."""
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        data = archive.read(name)
    return name, data.decode("latin-1").splitlines(keepends=True)


def parse(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=";", quotechar='"'))


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    generate_release(out, establishments=ESTABLISHMENTS, seed=11, progress=False)
    return out


@pytest.fixture(scope="module")
def manifest(release) -> dict:
    return json.loads((release / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(release) -> dict[str, list[tuple[str, int, str, list[str]]]]:
    """Table stem -> [(zip name, line number, raw line, fields)] over all parts."""
    result = {}
    for stem in (*COLUMNS, *DOMAINS):
        rows = []
        for path in sorted((release / "cnpj").glob(f"{stem}*.zip")):
            _, lines = read_zip(path)
            rows += [(path.name, i, line, parse(line)) for i, line in enumerate(lines, start=1)]
        result[stem] = rows
    return result


def _good(tables, stem):
    return [fields for _, _, _, fields in tables[stem] if len(fields) == COLUMNS[stem]]


def test_release_layout_and_zip_entries(release):
    names = {p.name for p in (release / "cnpj").iterdir()}
    assert names == {f"{s}0.zip" for s in ("Empresas", "Estabelecimentos", "Socios")} | {
        f"{s}.zip" for s in ("Simples", *DOMAINS)
    }
    inner, _ = read_zip(release / "cnpj" / "Estabelecimentos0.zip")
    assert re.fullmatch(r"K3241\.K03200Y0\.D\d{5}\.ESTABELE", inner)
    with zipfile.ZipFile(release / "cnpj" / "Socios0.zip") as archive:
        assert archive.infolist()[0].date_time == (2026, 11, 8, 0, 0, 0)
    assert {p.name for p in (release / "partner").iterdir()} == {
        "categories.json",
        "establishments.json",
        "sales.json",
    }


def test_every_line_is_fully_quoted_latin1(release, tables):
    for stem, rows in tables.items():
        assert rows, stem
        for name, number, line, _ in rows:
            assert QUOTED_LINE.fullmatch(line), (name, number, line)
    raw = b"".join(
        zipfile.ZipFile(p).read(zipfile.ZipFile(p).namelist()[0])
        for p in (release / "cnpj").glob("Empresas*.zip")
    )
    assert any(ch.encode("latin-1") in raw for ch in "ÇÃÉÍÓÚÂÊÔ")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # Latin-1, not UTF-8


def test_column_counts_and_malformed_rows_match_the_manifest(tables, manifest):
    planted = {(m["file"], m["line"]): m["kind"] for m in manifest["malformed_rows"]}
    found = {}
    for stem, expected in COLUMNS.items():
        for name, number, _, fields in tables[stem]:
            if len(fields) != expected:
                found[(f"cnpj/{name}", number)] = (
                    "missing_field" if len(fields) < expected else "extra_field"
                )
            elif not all(valid_date(fields[c]) for c in DATE_COLUMNS[stem]):
                found[(f"cnpj/{name}", number)] = "bad_date"
    assert found == planted
    kinds = set(planted.values())
    assert "bad_date" in kinds and kinds & {"missing_field", "extra_field"}
    assert kinds <= {"missing_field", "extra_field", "bad_date"}
    for stem in COLUMNS:
        rows = len(tables[stem])
        bad = sum(1 for file, _ in planted if file.startswith(f"cnpj/{stem}"))
        assert 1 <= bad <= rows * 0.0005, stem  # well below the 0.1% quarantine limit
    for stem in DOMAINS:
        assert all(len(fields) == 2 for *_, fields in tables[stem]), stem


def test_manifest_counts_match_the_files(tables, manifest):
    for stem in (*COLUMNS, *DOMAINS):
        by_file = {}
        for name, *_ in tables[stem]:
            by_file[name] = by_file.get(name, 0) + 1
        for name, rows in by_file.items():
            assert manifest["counts"][name] == rows
    assert len(tables["Estabelecimentos"]) == ESTABLISHMENTS


def test_cnpj_check_digits_numeric_and_alphanumeric(tables):
    establishments = _good(tables, "Estabelecimentos")
    cnpjs = [f[0] + f[1] + f[2] for f in establishments]
    assert all(valid_cnpj(c) for c in cnpjs)
    assert len(set(cnpjs)) == len(cnpjs)
    alphanumeric = [f for f in establishments if not f[0].isdigit()]
    assert alphanumeric, "some companies have the new alphanumeric CNPJ"
    assert all(f[10] >= "20260701" for f in alphanumeric if f[3] == "1")
    companies = {fields[0] for *_, fields in tables["Empresas"]}  # bad rows keep the key
    assert {f[0] for f in establishments} <= companies
    partner_companies = [f[3] for f in _good(tables, "Socios") if f[1] == "1"]
    assert partner_companies and all(valid_cnpj(c) for c in partner_companies)


def test_municipality_codes_are_real_receita_codes(tables):
    package_toms = {tom for _, tom in package_crosswalk}
    domain = {f[0] for *_, f in tables["Municipios"]}
    establishments = _good(tables, "Estabelecimentos")
    for f in establishments:
        assert f[20] in domain
        if f[20] == "9707":
            assert f[19] == "EX" and f[9] and f[8]  # abroad: foreign country and city
        else:
            assert f[20] in package_toms and f[9] == ""
    assert any(f[20] == "9707" for f in establishments)
    assert package_toms <= domain


def test_personal_data_like_real_releases(tables):
    empresas = _good(tables, "Empresas")
    mei = [f for f in empresas if f[2] == "2135"]
    assert len(mei) > len(empresas) * 0.2
    trailing_cpf = [re.search(r" (\d{11})$", f[1]) for f in mei]
    cpfs = [m.group(1) for m in trailing_cpf if m]
    assert len(cpfs) > len(mei) * 0.4 and all(valid_cpf(c) for c in cpfs)
    assert any(re.match(r"\d{2}\.\d{3}\.\d{3} [A-ZÀ-Ú]", f[1]) for f in mei)
    socios = _good(tables, "Socios")
    people = [f for f in socios if f[1] == "2"]
    assert people and all(re.fullmatch(r"\*\*\*\d{6}\*\*", f[3]) for f in people)
    mei_bases = {f[0] for f in mei}
    emails = [f[27] for f in _good(tables, "Estabelecimentos") if f[0] in mei_bases and f[27]]
    assert emails and all(re.fullmatch(r"[a-z]+\.[a-z]+\d{4}@[a-z.]+", e) for e in emails)


def test_situations_cnaes_and_dates(tables):
    establishments = _good(tables, "Estabelecimentos")
    situations = {f[5] for f in establishments}
    assert {"02", "08"} <= situations <= {"01", "02", "03", "04", "08"}
    cnaes = {f[11] for f in establishments}
    assert CHANNELS & cnaes and cnaes - CHANNELS
    assert cnaes <= {f[0] for *_, f in tables["Cnaes"]}
    assert all(re.fullmatch(r"\d{8}", f[10]) and f[10] != "00000000" for f in establishments)
    capital = [f[4] for f in _good(tables, "Empresas")]
    assert all(re.fullmatch(r"\d+,\d{2}", c) for c in capital)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    runs = {}
    for label, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / label
        generate_release(out, establishments=1_200, seed=seed, progress=False)
        runs[label] = {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }
    assert runs["a"] == runs["b"]
    assert runs["a"].keys() == runs["c"].keys()
    for name in ("cnpj/Estabelecimentos0.zip", "partner/sales.json", "MANIFEST.json"):
        assert runs["a"][name] != runs["c"][name]


def test_part_count_follows_real_releases():
    assert [part_count(n) for n in (1, 200_000, 200_001, 1_000_000, 50_000_000)] == [1, 1, 2, 5, 10]


def test_cli_help_and_tiny_generation(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    help_run = subprocess.run(
        [sys.executable, "-m", "flows", "sample", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert help_run.returncode == 0 and "--establishments" in help_run.stdout
    result = CliRunner().invoke(
        app, ["sample", "--out", str(tmp_path / "tiny"), "--establishments", "300", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny" / "cnpj" / "Estabelecimentos0.zip").exists()
    assert json.loads((tmp_path / "tiny" / "MANIFEST.json").read_text())["establishments"] == 300


def test_stale_parts_of_an_earlier_release_are_removed(tmp_path):
    stale = tmp_path / "cnpj" / "Estabelecimentos7.zip"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    keep = tmp_path / "cnpj" / "notes.zip"
    keep.write_bytes(b"mine")
    summary = generate_release(tmp_path, establishments=100, seed=1, progress=False)
    assert not stale.exists() and keep.exists()
    assert "Estabelecimentos 100" in summary.describe()
