"""Population estimates from IBGE's spreadsheets: the real files, and drift that must fail."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from flows.sample.spreadsheet import write_xlsx
from flows.sources.public import DatasetError, load_catalog
from flows.sources.public.datasets import RawFile, population
from flows.sources.public.spreadsheet import read_sheet
from tests.sources.public.ibge_files import real_ibge_file

HEADER = ["UF", "COD. UF", "COD. MUNIC", "NOME DO MUNICÍPIO", "POPULAÇÃO ESTIMADA"]
TITLE = "ESTIMATIVAS DA POPULAÇÃO ... COM DATA DE REFERÊNCIA EM 1º DE JULHO DE 2031"


def _population(path: Path):
    catalog = load_catalog()
    entry = catalog.datasets["population_municipalities"]
    return population(entry, catalog, RawFile(path.name, lambda: path.open("rb")))


def _row(table, ibge_code: str) -> dict:
    [row] = table.filter(pc.equal(table["ibge_code"], ibge_code)).to_pylist()
    return row


def test_population_2025_from_the_real_xls():
    table = _population(real_ibge_file("POP2025_20260113.xls"))

    assert table.num_rows == 5_571
    assert pc.sum(table["population"]).as_py() == 213_421_037  # the sheet 'BRASIL E UFs' total
    assert _row(table, "3550308") == {
        "ibge_code": "3550308",
        "uf": "SP",
        "name": "São Paulo",
        "population": 11_904_961,
        "reference_year": 2025,
    }
    # Alvarães carries the footnote mark (1) in the column beside its population.
    assert _row(table, "1300029")["population"] == 16_806
    assert len(set(table["ibge_code"].to_pylist())) == 5_571
    assert all(len(code) == 7 and code.isdigit() for code in table["ibge_code"].to_pylist())
    assert not any("(" in name for name in table["name"].to_pylist())


def test_population_2020_from_the_real_xls_with_footnotes_in_the_numbers():
    table = _population(real_ibge_file("estimativa_dou_2020.xls"))

    assert table.num_rows == 5_570
    assert pc.sum(table["population"]).as_py() == 211_755_692
    assert _row(table, "1100205")["population"] == 539_354  # the cell is '539354(1)'
    assert _row(table, "1302553")["population"] == 33_049  # the cell is '33049 (2)'
    assert _row(table, "3550308")["population"] == 12_325_232
    assert set(table["reference_year"].to_pylist()) == {2020}


def _write(path: Path, rows: list[list], sheet: str = "MUNICÍPIOS") -> Path:
    return write_xlsx(path, {"BRASIL E UFs": [["Brasil", 1]], sheet: rows})


def test_sheet_case_thousands_dots_footnotes_and_codes_are_handled(tmp_path):
    path = _write(
        tmp_path / "POP2031.xlsx",
        [
            [TITLE],
            [],
            [" uf ", "Cod. UF", "COD.  MUNIC", "Nome do Município", "População estimada"],
            ["RO", 11.0, "00205", "Porto Velho (1)", "548.952(1)"],
            ["SP", "35", 50308.0, "São Paulo", 12_000_000.0],
            [],
            ["Fonte: IBGE"],
            ["(1) População judicial ..."],
        ],
    )
    table = _population(path)
    assert table.to_pylist() == [
        {"ibge_code": "1100205", "uf": "RO", "name": "Porto Velho", "population": 548_952,
         "reference_year": 2031},
        {"ibge_code": "3550308", "uf": "SP", "name": "São Paulo", "population": 12_000_000,
         "reference_year": 2031},
    ]  # fmt: skip


def test_a_drifted_header_fails_naming_file_sheet_and_expected_titles(tmp_path):
    drifted = ["UF", "COD. UF", "COD. MUNIC", "NOME DO MUNICÍPIO", "POPULAÇÃO"]
    path = _write(tmp_path / "POP2031.xlsx", [[TITLE], drifted, ["RO", 11, "00205", "X", 1]])
    with pytest.raises(DatasetError) as caught:
        _population(path)
    message = str(caught.value)
    assert message.startswith("POP2031.xlsx, sheet 'MUNICÍPIOS': header row not found")
    assert "'POPULAÇÃO ESTIMADA'" in message


def test_a_missing_sheet_names_the_sheets_there(tmp_path):
    path = _write(tmp_path / "POP2031.xlsx", [HEADER], sheet="Municipios 2031")
    with pytest.raises(DatasetError, match=r"no sheet named 'Municípios'.*'Municipios 2031'"):
        _population(path)


def test_a_bad_value_inside_the_data_fails_naming_the_row(tmp_path):
    rows = [[TITLE], HEADER, ["RO", 11, "00205", "Porto Velho", 1.5]]
    path = _write(tmp_path / "POP2031.xlsx", rows)
    with pytest.raises(DatasetError, match=r"row 3: column 'POPULAÇÃO ESTIMADA' holds 1\.5"):
        _population(path)


def test_the_data_ends_at_the_first_row_that_is_not_data(tmp_path):
    rows = [
        [TITLE],
        HEADER,
        ["RO", 11, "00205", "Porto Velho", 5],
        ["Notas:"],
        ["RO", 11, "1", "X", 2],
    ]
    entry = load_catalog().datasets["population_municipalities"]
    path = _write(tmp_path / "POP2031.xlsx", rows)
    sheet = read_sheet(path.read_bytes(), file="f", sheet="municípios", columns=entry.read.header)
    assert sheet.table.num_rows == 1 and sheet.header_row == 2 and sheet.preamble == [TITLE]
