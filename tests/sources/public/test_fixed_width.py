"""The fixed-width reader: typed fields, blanks as null, and loud failures on drift."""

from __future__ import annotations

import io
import zipfile

import pyarrow as pa
import pytest

from flows.municipalities import UF_BY_IBGE_PREFIX
from flows.sample.fixed_width import format_records
from flows.sources.public import DatasetError, load_catalog
from flows.sources.public.catalog import Layout
from flows.sources.public.fixed_width import read_member, read_records
from tests.sources.public.ibge_files import real_ibge_file

LAYOUT = Layout(
    length=20,
    fields=[
        {"name": "UF", "start": 1, "width": 2, "type": "string"},
        {"name": "NUM_DOM", "start": 3, "width": 2, "type": "int64"},
        {"name": "VALOR", "start": 5, "width": 10, "type": "float64"},
        {"name": "CODIGO", "start": 15, "width": 6, "type": "string"},
    ],
)
# Written by hand as IBGE does: right-aligned numbers, space padding, '.' decimals, CRLF.
LINES = [
    b"35 1   1234.56 A0001",
    b"2112      0.5       ",  # VALOR right-aligned; CODIGO blank -> null
    b"53 9          000042",  # VALOR blank -> null
]


def _read(data: bytes, **options) -> pa.Table:
    return pa.Table.from_batches(
        list(read_records(io.BytesIO(data), LAYOUT, file="T.txt", **options))
    )


def test_fields_are_sliced_typed_and_blanks_are_null():
    table = _read(b"\r\n".join(LINES) + b"\r\n")
    assert table.to_pylist() == [
        {"UF": "35", "NUM_DOM": 1, "VALOR": 1234.56, "CODIGO": "A0001"},
        {"UF": "21", "NUM_DOM": 12, "VALOR": 0.5, "CODIGO": None},
        {"UF": "53", "NUM_DOM": 9, "VALOR": None, "CODIGO": "000042"},
    ]


def test_blocks_split_anywhere_give_the_same_records():
    data = b"\r\n".join(LINES * 50) + b"\r\n"
    whole = _read(data)
    for size in (7, 22, 23, 100):  # inside a line, exactly at a CRLF, across several lines
        assert _read(data, block_bytes=size).equals(whole)
    assert whole.num_rows == 150


def test_only_the_requested_columns_are_read():
    table = _read(b"\r\n".join(LINES) + b"\r\n", columns=["VALOR", "UF"])
    assert table.column_names == ["VALOR", "UF"]


def test_a_last_line_without_crlf_is_still_a_record():
    assert _read(b"\r\n".join(LINES)).num_rows == 3


def test_a_short_line_fails_naming_file_line_and_expected_length():
    data = b"\r\n".join([LINES[0], LINES[1], LINES[2][:-3]]) + b"\r\n"
    with pytest.raises(DatasetError, match=r"T\.txt: line 3 has 17 characters, expected 20"):
        _read(data)


def test_a_short_line_in_a_later_block_is_counted_from_the_file_start():
    data = b"\r\n".join([*LINES * 10, b"35 1"]) + b"\r\n"
    with pytest.raises(DatasetError, match=r"line 31 has 4 characters, expected 20"):
        _read(data, block_bytes=50)


def test_lf_only_line_ends_are_refused():
    with pytest.raises(DatasetError, match="line 1 does not end in CRLF"):
        _read(b"\n".join(LINES) + b"\n")


def test_a_value_that_is_not_a_number_names_line_and_field():
    bad = b"35 1   12x4.56 A0001"
    with pytest.raises(DatasetError, match=r"line 2, field VALOR \(start 5, width 10\): '12x4.56'"):
        _read(b"\r\n".join([LINES[0], bad]) + b"\r\n")


def test_non_ascii_is_refused():
    with pytest.raises(DatasetError, match="line 1 has a non-ASCII byte"):
        _read("35 1   1234.56 AÃ001".encode("latin-1") + b"\r\n")


def test_the_writer_and_reader_agree_on_the_published_layouts():
    layout = load_catalog().layouts["MORADOR"]
    values = {
        "UF": ["35", "21"],
        "COD_UPA": ["350000011", "210000022"],
        "NUM_DOM": [1, 12],
        "PESO_FINAL": [812.34567891, None],
    }
    data = format_records(layout, values, {"PESO_FINAL": 8})
    assert data.count(b"\r\n") == 2 and len(data) == 2 * (196 + 2)
    table = pa.Table.from_batches(list(read_records(io.BytesIO(data), layout, file="M.txt")))
    assert table.select(list(values)).to_pydict() == {**values, "PESO_FINAL": [812.34567891, None]}


def test_a_missing_member_names_what_the_zip_holds():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MORADOR.txt", b"")
    with (
        zipfile.ZipFile(buffer) as archive,
        pytest.raises(DatasetError, match=r"Dados\.zip: has no member DESPESA_INDIVIDUAL\.txt"),
    ):
        list(read_member(archive, "DESPESA_INDIVIDUAL.txt", LAYOUT, file="Dados.zip"))


def test_the_real_morador_quali_vida_member_reads_whole():
    path = real_ibge_file("Dados_20230713_MORADOR_QUALI_VIDA.zip")
    layout = load_catalog().layouts["MORADOR_QUALI_VIDA"]
    with zipfile.ZipFile(path) as archive:
        batches = list(read_member(archive, "MORADOR_QUALI_VIDA.txt", layout, file=path.name))
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 178_369  # the README's record count
    for name in ("UF", "COD_UPA", "NUM_DOM", "CONTAGEM_PONDERADA", "PESO_FINAL"):
        assert table.column(name).null_count == 0, name
    assert set(table.column("UF").to_pylist()) == set(UF_BY_IBGE_PREFIX)
