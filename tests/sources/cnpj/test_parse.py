"""CNPJ layouts, typing and quarantine, on small Receita-format files (no Prefect)."""

from __future__ import annotations

import datetime as dt
import gc
import io
import shutil
import time
import weakref
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from flows.lake import Lake
from flows.sources.cnpj.ingest import ingest_file
from flows.sources.cnpj.layout import LAYOUTS, classify, expected_file_names
from flows.sources.cnpj.quarantine import read_quarantine
from tests.cnpj_fixtures import establishment, passthrough, receita_line, write_release


def ingest(lake: Lake, folder, name: str, **options):
    shutil.copy(folder / name, lake.local_path("").joinpath(name))
    summary = ingest_file(
        lake,
        classify(name),
        name,
        table_prefix=f"out/{name}",
        quarantine_key=f"q/{name}.jsonl",
        scrubber=passthrough,
        **options,
    )
    return summary, pq.read_table(lake.path(f"out/{name}"))


def test_every_file_name_has_a_layout():
    names = expected_file_names()
    assert len(names) == 37
    assert {classify(name).table for name in names} == {layout.table for layout in LAYOUTS}
    assert classify("Estabelecimentos3.zip").part == 3
    assert classify("Simples3.zip") is None and classify("Readme.zip") is None


@pytest.mark.parametrize("name", ["Empresas1.zip", "Estabelecimentos0.zip", "Socios0.zip",
                                  "Simples.zip", "Cnaes.zip", "Municipios.zip"])  # fmt: skip
def test_layout_round_trip(tmp_path, lake, name):
    written = write_release(tmp_path / "src", rows_per_file=40)
    summary, table = ingest(lake, tmp_path / "src", name)
    layout = classify(name).layout
    rows = table.to_pylist()
    assert summary.rows_read == summary.rows_written == len(written[name]) == len(rows)
    for source, parsed in zip(written[name], rows, strict=True):
        for column, text in zip(layout.columns, source, strict=True):
            value = parsed[column.name]
            if column.kind == "date":
                expected = None if text in ("", "0", "00000000") else text
                assert (value.strftime("%Y%m%d") if value else None) == expected
            elif column.kind == "decimal":
                assert value == Decimal(text.replace(",", "."))
            elif column.kind == "code":
                assert value == (text.zfill(column.width) if text else None)
            else:
                assert value == (text or None)


def test_establishments_get_full_cnpj_and_ibge_code(tmp_path, lake):
    written = write_release(tmp_path / "src", rows_per_file=30)
    unknown = establishment(3)
    unknown[20] = "9707"  # EXTERIOR: no IBGE code, but not a bad row
    (tmp_path / "src2").mkdir()
    from tests.cnpj_fixtures import write_zip

    rows = [*written["Estabelecimentos0.zip"][:3], unknown]
    write_zip(tmp_path / "src2" / "Estabelecimentos0.zip", [receita_line(r) for r in rows])
    summary, table = ingest(lake, tmp_path / "src2", "Estabelecimentos0.zip")
    assert summary.unmapped_municipios == 1 and summary.rows_written == 4
    parsed = table.to_pylist()
    assert [p["cnpj"] for p in parsed] == ["".join(r[:3]) for r in rows]
    assert all(len(p["cnpj"]) == 14 for p in parsed)
    assert parsed[3]["municipio_ibge"] is None
    assert all(p["municipio_ibge"] and len(p["municipio_ibge"]) == 7 for p in parsed[:3])
    assert table.schema.field("data_situacao_cadastral").type == "date32[day]"


def test_malformed_rows_quarantined_with_reasons_and_lines(tmp_path, lake):
    late_date = establishment(10)
    late_date[10] = "20230231"
    bad = {
        2: b'"only";"three";"fields"\n',
        5: receita_line([*establishment(5)[:4], "BAR \x00 NUL", *establishment(5)[5:]]),
        10: receita_line(late_date),
        11: receita_line([*establishment(11), "extra"]),
    }
    write_release(tmp_path / "src", rows_per_file=20, bad_lines={"Estabelecimentos0.zip": bad})
    summary, table = ingest(lake, tmp_path / "src", "Estabelecimentos0.zip", block_size=1024)
    assert summary.rows_read == 20 and summary.rows_written == 16
    assert summary.rows_quarantined == 4
    quarantined = read_quarantine(lake, "q/Estabelecimentos0.zip.jsonl")
    by_line = {row["line"]: row for row in quarantined}
    assert sorted(by_line) == [3, 6, 11, 12]  # 1-based physical lines
    assert by_line[3]["reason"] == "wrong field count: 3 of 30"
    assert by_line[6]["reason"] == "undecodable bytes in nome_fantasia"
    assert by_line[11]["reason"] == "impossible date in data_inicio_atividade"
    assert "20230231" in by_line[11]["raw"]
    assert by_line[12]["reason"] == "wrong field count: 31 of 30"
    assert all(row["file"] == "Estabelecimentos0.zip" for row in quarantined)
    assert summary.reasons == {
        "wrong field count": 2,
        "undecodable bytes in nome_fantasia": 1,
        "impossible date in data_inicio_atividade": 1,
    }
    assert "BAR DO JOÃO 5" not in table.column("nome_fantasia").to_pylist()


def test_scope_keeps_only_chosen_channels_and_states(tmp_path, lake):
    written = write_release(tmp_path / "src", rows_per_file=60)
    rows = written["Estabelecimentos0.zip"]
    summary, table = ingest(
        lake,
        tmp_path / "src",
        "Estabelecimentos0.zip",
        cnaes=["5611-2/01", "4711302"],
        ufs=["sp", "MG"],
    )
    expected = [r for r in rows if r[11] in ("5611201", "4711302") and r[19] in ("SP", "MG")]
    assert expected and table.column("cnpj").to_pylist() == ["".join(r[:3]) for r in expected]
    assert summary.rows_out_of_scope == len(rows) - len(expected)


def test_memory_is_streamed_in_batches(tmp_path, lake):
    """Small blocks give many batches and the same rows: the file is never read whole."""
    write_release(tmp_path / "src", rows_per_file=300)
    _, whole_table = ingest(lake, tmp_path / "src", "Estabelecimentos0.zip")
    from flows.sources.cnpj.parse import ReceitaReader

    with __import__("zipfile").ZipFile(tmp_path / "src" / "Estabelecimentos0.zip") as archive:
        member = archive.infolist()[0]
        with archive.open(member) as stream:
            batches = list(ReceitaReader(stream, classify("Estabelecimentos0.zip").layout, 4096))
    assert len(batches) > 10
    assert sum(b.num_rows for b, _, _ in batches) == whole_table.num_rows == 300
    assert dt.date(2020, 1, 1) in whole_table.column("data_situacao_cadastral").to_pylist()


@pytest.mark.parametrize(
    ("data", "control", "mojibake"),
    [
        ("RUA DAS FLORES Nº 12, 1º ANDAR, JOÃO AÇAÍ".encode("latin-1"), False, False),
        ("Fabricação de conservas".encode(), False, True),  # lower-case: pairs
        ("FABRICAÇÃO".encode(), True, True),  # upper-case: C1 control bytes
        (b"x" * ((1 << 16) - 1) + "ção".encode(), False, True),  # a pair across two reads
        (b"A\x00B", True, False),
    ],
)
def test_the_byte_scanner_flags_control_bytes_and_mojibake_pairs(data, control, mojibake):
    from flows.sources.cnpj.parse import _ByteScanner

    scanner = _ByteScanner(io.BytesIO(data))
    buffer = bytearray(1 << 16)
    while scanner.readinto(buffer):
        pass
    assert (scanner.saw_control_bytes, scanner.saw_mojibake) == (control, mojibake)


class _CountingStream(io.RawIOBase):
    """A CSV stream that remembers how far it has been read."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        read = self._data.readinto(buffer)
        self.position += read
        return read


def _establishment_lines(rows: int) -> bytes:
    line = receita_line(establishment(1))
    return line * rows


def test_the_reader_reads_only_a_few_blocks_ahead_of_the_batches_taken():
    """Arrow reads ahead up to 32 blocks on its own thread; the reader lets it read only
    ``BLOCKS_AHEAD`` blocks beyond the batches handed out, however slow the consumer."""
    from flows.sources.cnpj.parse import BLOCKS_AHEAD, ReceitaReader

    block = 256 << 10
    data = _establishment_lines(60_000)  # ~14 MB: 50+ blocks
    stream = _CountingStream(data)
    ahead = []
    reader = ReceitaReader(stream, classify("Estabelecimentos0.zip").layout, block)
    rows = 0
    for taken, (batch, _, _) in enumerate(reader, start=1):
        time.sleep(0.01)  # a slow consumer: Arrow would read the whole file meanwhile
        ahead.append(stream.position - taken * block)
        rows += batch.num_rows
    assert rows == 60_000 and len(ahead) > 40
    # beyond the blocks allowed: the batches queued for the consumer (2) and the one
    # being queued, the read in progress, and the reader's 1 MB read buffer
    assert max(ahead) <= (BLOCKS_AHEAD + 4) * block + (1 << 20)


def test_a_reader_stopped_early_or_never_read_stops_reading_and_is_freed():
    """A consumer that stops (an error) or never starts leaves no reader thread waiting
    and nothing behind: Arrow holds its invalid-row handler in C++, out of the garbage
    collector's sight, so the reader must not be in a cycle through it."""
    from flows.sources.cnpj.parse import ReceitaReader

    layout = classify("Estabelecimentos0.zip").layout
    data = _establishment_lines(20_000) + b'"too";"few"\n'
    stream = _CountingStream(data)
    reader = ReceitaReader(stream, layout, 64 << 10)
    batches = iter(reader)
    next(batches)
    batches.close()
    assert stream.position < len(data)
    freed = weakref.ref(reader)
    del reader, batches
    gc.collect()
    assert freed() is None

    never_read = ReceitaReader(_CountingStream(data), layout, 64 << 10)
    freed = weakref.ref(never_read)
    del never_read
    gc.collect()
    assert freed() is None

    read_whole = ReceitaReader(_CountingStream(data), layout, 64 << 10)
    assert sum(len(bad) for _, _, bad in read_whole) == 1
    freed = weakref.ref(read_whole)
    del read_whole
    gc.collect()
    assert freed() is None
