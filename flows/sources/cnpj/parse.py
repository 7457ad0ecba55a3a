"""Stream a Receita CNPJ zip into typed Arrow record batches, finding bad rows on the way.

Memory stays flat: the zip member is read as a stream, ``pyarrow.csv.open_csv`` turns it
into batches of about ``block_size`` bytes, and each batch is typed, checked and handed
on before the next one is read. All checks are vectorised; only bad rows touch Python.

Bad rows and how their line numbers are known:
- wrong field count: Arrow's ``invalid_row_handler`` gives the row's physical number
  (only with ``use_threads=False``, so files, not blocks, are the unit of parallelism);
- undecodable bytes: every byte is Latin-1, so "undecodable" means bytes no Latin-1 text
  holds (C0/C1 control characters, NUL). The raw stream is scanned in C as it is read
  and the (slower) per-field check runs only on files where such a byte was seen;
- mojibake: a UTF-8 file read as Latin-1 turns "ç" into "Ã§" (a UTF-8 lead byte C2-DF
  followed by a continuation byte 80-BF, two characters in Latin-1). Upper-case accents
  already show as control characters (C1, above); lower-case ones show as such pairs.
  The raw stream is checked for the byte pair as it is read (the same single ``translate``
  that finds control bytes; pairs are looked for only where such bytes are), and the
  per-field check runs only on files where a pair was seen;
- impossible dates and malformed money, found by comparing parsed values with the text.
A valid row's line number follows from its position among valid rows and the sorted
line numbers of the skipped rows (there are no multi-line fields: ``newlines_in_values``
is off and empty lines are rows, so every physical line is exactly one row).
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flows.municipalities import ibge_by_tom
from flows.sources.cnpj.layout import DECIMAL_TYPE, Kind, Layout

DEFAULT_BLOCK_SIZE = 8 << 20
# Blocks Arrow may have read beyond the batches it has handed out (see ``_ReadAhead``).
BLOCKS_AHEAD = 3
NO_DATE = ("0", "00000000")
# Bytes of plain Latin-1 text: tab, LF, CR, printable ASCII and the letters C0-FF. One
# ``translate`` deleting them leaves what needs a look (usually nothing): control bytes
# (00-1F, 7F-9F: not text) and the symbols A0-BF (a mojibake pair's second byte).
_PLAIN_BYTES = bytes([9, 10, 13, *range(0x20, 0x7F), *range(0xC0, 0x100)])
_SYMBOL_BYTES = bytes(range(0xA0, 0xC0))
_CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{7f}-\x{9f}]"
# A mojibake pair once Arrow decoded it as Latin-1 (e.g. "Ã§", "Ã£", "Ã©", "Âº").
_MOJIBAKE_CHARS = r"[\x{c2}-\x{df}][\x{80}-\x{bf}]"
_DECIMAL_TEXT = r"^-?[0-9]{1,16}(,[0-9]{1,2})?$"


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be typed: its physical line number, why, and its text."""

    line: int
    reason: str
    raw: str


class _ReadAhead:
    """How far Arrow may read ahead of the batches it has handed out.

    Arrow's streaming CSV reader reads its input on a background thread, up to 32 blocks
    ahead of the batches taken from it (a fixed queue, not an option: ARROW-12090).
    Unzipping is faster than typing, scrubbing and writing, so a parse held up to 32 x 8
    MB of unparsed CSV: a 5M-row file peaked at 720 MB, 400 MB of it Arrow's. Each read
    waits here instead until it is within ``BLOCKS_AHEAD`` blocks of the batches handed
    out. Arrow gives one batch per block (an empty one for a block of invalid rows) and
    batch k needs blocks up to k + 1, so the read a batch needs is always allowed."""

    def __init__(self, block_size: int, blocks: int = BLOCKS_AHEAD):
        self._block_size = block_size
        self._allowed = blocks * block_size  # bytes that may be read so far
        self._closed = False
        self._changed = threading.Condition()

    def wait(self, position: int) -> bool:
        """Wait until reading at ``position`` is allowed; False once closed (stop reading)."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or position < self._allowed)
            return not self._closed

    def batch_out(self) -> None:
        """Arrow handed out one more batch: one more block may be read."""
        with self._changed:
            self._allowed += self._block_size
            self._changed.notify_all()

    def close(self) -> None:
        """No more reading: a read waiting (or to come) gets end of file."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class _ByteScanner(io.RawIOBase):
    """Passes a binary stream through, noting whether any non-text byte went by, and
    reading only as far ahead as ``read_ahead`` allows."""

    def __init__(self, raw: IO[bytes], read_ahead: _ReadAhead | None = None):
        self._raw = raw
        self._read_ahead = read_ahead
        self.position = 0
        self.saw_control_bytes = False
        self.saw_mojibake = False
        self._last = b""  # a pair may straddle two chunks

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._read_ahead is not None and not self._read_ahead.wait(self.position):
            return 0
        chunk = self._raw.read(len(buffer))
        self.position += len(chunk)
        rest = chunk.translate(None, _PLAIN_BYTES)  # one C pass over the chunk
        if rest:
            if not self.saw_control_bytes and rest.translate(None, _SYMBOL_BYTES):
                self.saw_control_bytes = True
            if not self.saw_mojibake:
                self.saw_mojibake = _has_mojibake_pair(self._last + chunk, rest)
        self._last = chunk[-1:]
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _has_mojibake_pair(data: bytes, rest: bytes) -> bool:
    """Is a continuation byte (80-BF) of ``rest`` preceded by a UTF-8 lead byte (C2-DF)?
    Looks only where those bytes are (``find`` is memchr): few in a clean file."""
    for value in {byte for byte in rest if byte >= 0x80}:
        needle = bytes([value])
        at = data.find(needle, 1)
        while at != -1:
            if 0xC2 <= data[at - 1] <= 0xDF:
                return True
            at = data.find(needle, at + 1)
    return False


class _InvalidRows:
    """Arrow's ``invalid_row_handler``: notes each row with the wrong field count.

    Not a method of ``ReceitaReader``: Arrow keeps the handler in C++, out of sight of
    Python's garbage collector, so a handler bound to the reader (which holds Arrow's
    reader) made a cycle nothing ever freed. Every file parsed then kept its reader, zip
    stream and read-ahead buffers (3-5 MB) until the process ended: ~150 MB of Arrow
    memory still held at the end of a whole release."""

    def __init__(self) -> None:
        self.bad_rows: list[BadRow] = []  # since the last batch (read by the producer)
        self.lines: list[int] = []  # every skipped line
        self.lock = threading.Lock()

    def __call__(self, row) -> str:
        with self.lock:
            self.lines.append(row.number)
        reason = f"wrong field count: {row.actual_columns} of {row.expected_columns}"
        self.bad_rows.append(BadRow(line=row.number, reason=reason, raw=row.text))
        return "skip"

    def take(self) -> list[BadRow]:
        """The bad rows noted since the last call."""
        bad, self.bad_rows = self.bad_rows, []
        return bad


class ReceitaReader:
    """Iterate string-typed batches of one Receita CSV stream, collecting bad rows."""

    def __init__(self, stream: IO[bytes], layout: Layout, block_size: int = DEFAULT_BLOCK_SIZE):
        self.layout = layout
        self._valid_rows = 0
        self._invalid = _InvalidRows()
        self._read_ahead = _ReadAhead(block_size)
        self._scanner = _ByteScanner(stream, self._read_ahead)
        self._reader = pacsv.open_csv(
            io.BufferedReader(self._scanner, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(
                column_names=layout.names,
                encoding="latin1",
                block_size=block_size,
                use_threads=False,  # keeps the invalid rows' line numbers
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=";",
                ignore_empty_lines=False,
                invalid_row_handler=self._invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in layout.names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    @property
    def rows_read(self) -> int:
        """Rows read so far, valid or not."""
        with self._invalid.lock:
            return self._valid_rows + len(self._invalid.lines)

    @property
    def saw_control_bytes(self) -> bool:
        return self._scanner.saw_control_bytes

    @property
    def saw_mojibake(self) -> bool:
        return self._scanner.saw_mojibake

    def __iter__(self) -> Generator[tuple[pa.RecordBatch, int, list[BadRow]], None, None]:
        """Yield ``(batch, index of its first row among valid rows, bad rows found so far)``.

        Parsing runs one batch ahead in a thread of its own (Arrow and zlib release the
        GIL), so reading overlaps with typing, scrubbing and writing; the queue is short,
        so memory stays bounded."""
        batches: queue.Queue = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            try:
                valid_before = 0
                for batch in self._reader:
                    self._read_ahead.batch_out()
                    self._valid_rows += batch.num_rows
                    if not _put(batches, (batch, valid_before, self._invalid.take()), stop):
                        return
                    valid_before += batch.num_rows
                _put(batches, (None, valid_before, self._invalid.take()), stop)
            except BaseException as error:  # handed to the consumer, raised there
                _put(batches, error, stop)

        producer = threading.Thread(target=produce, name="cnpj-reader", daemon=True)
        producer.start()
        try:
            while True:
                item = batches.get()
                if isinstance(item, BaseException):
                    raise item
                batch, first_index, bad = item
                if batch is None:
                    if bad:
                        yield pa.RecordBatch.from_pylist([], schema=_strings(self.layout)), 0, bad
                    return
                yield batch, first_index, bad
        finally:
            stop.set()
            self._read_ahead.close()  # a read the producer waits for gets end of file
            producer.join()
            self.close()

    def close(self) -> None:
        """Stop reading. Arrow may still be reading ahead from the zip on its own I/O
        thread, and a read into Python while the interpreter exits aborts it: its reads
        get end of file from now on."""
        self._read_ahead.close()
        self._reader.close()

    def __del__(self) -> None:
        # Never iterated: Arrow's I/O thread must not wait for batches forever.
        self._read_ahead.close()

    def line_numbers(self, valid_indices: np.ndarray) -> np.ndarray:
        """Physical line numbers (1-based) of valid rows given by their valid-row index."""
        with self._invalid.lock:
            skipped = np.sort(np.asarray(self._invalid.lines, dtype=np.int64))
        # valid rows seen before skipped line S[i] = S[i] - 1 - i
        valid_before_skip = skipped - 1 - np.arange(len(skipped))
        jumps = np.searchsorted(valid_before_skip, valid_indices, side="right")
        return valid_indices + 1 + jumps


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _byte_lengths(text: pa.Array) -> np.ndarray:
    """Byte length of each string, straight from the offsets buffer."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)
    return np.diff(offsets[text.offset : text.offset + len(text) + 1])


def _put(batches: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Queue an item unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            batches.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _strings(layout: Layout) -> pa.Schema:
    return pa.schema([(name, pa.string()) for name in layout.names])


def _date_problems(text: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """(date32 values, mask of impossible dates) of a YYYYMMDD text column.

    Integer arithmetic on the whole column (``strptime`` would roll 20230231 over to
    2023-03-03 and is slower); text that is not a number takes the slow path."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    try:
        # Empty fields (null) read as "0", no date. Numeric arrays without nulls convert to
        # numpy without a copy (and without importing pandas, which bool arrays would).
        numbers = pc.cast(pc.fill_null(text, "0"), pa.int64()).to_numpy()
    except (pa.ArrowInvalid, ValueError):
        return _date_problems_slow(text)  # some value is not even a number
    out_of_range = (numbers < 0) | (numbers > 99_991_231)
    numbers = np.where(out_of_range, 0, numbers).astype(np.int32)
    year, month, day = numbers // 10_000, numbers // 100 % 100, numbers % 100
    no_date = (numbers == 0) & ~out_of_range  # "0", "00000000" or empty
    valid_month = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_length = _DAYS_IN_MONTH[np.where(valid_month, month, 0)] + (leap & (month == 2))
    possible = (year >= 1) & valid_month & (day >= 1) & (day <= month_length) & ~out_of_range
    impossible = ~no_date & (~possible | (_byte_lengths(text) != 8))
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    dates = _from_numpy(pa.date32(), days.astype(np.int32), valid=~(no_date | impossible))
    return dates, _from_numpy(pa.bool_(), impossible)


def _bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def _from_numpy(kind: pa.DataType, values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow array straight from numpy buffers (``pa.array`` would import pandas)."""
    data = _bits(values) if kind == pa.bool_() else pa.py_buffer(values)
    validity = None if valid is None else _bits(valid)
    return pa.Array.from_buffers(kind, len(values), [validity, data])


def _date_problems_slow(text: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """The same, for columns holding non-numeric text (rare: only bad files)."""
    no_date = pc.or_kleene(pc.is_null(text), pc.is_in(text, pa.array(NO_DATE)))
    parsed = pc.strptime(text, format="%Y%m%d", unit="s", error_is_null=True)
    # strptime rolls 20230231 over to 2023-03-03: compare the day it kept with the text's.
    day_kept = pc.equal(
        pc.utf8_lpad(pc.cast(pc.day(parsed), pa.string()), 2, "0"),
        pc.utf8_slice_codeunits(text, 6, 8),
    )
    well_formed = pc.and_kleene(pc.equal(pc.utf8_length(text), 8), day_kept)
    impossible = pc.and_(pc.invert(no_date), pc.invert(pc.fill_null(well_formed, False)))
    dates = pc.if_else(impossible, pa.scalar(None, pa.date32()), pc.cast(parsed, pa.date32()))
    return dates, impossible


def _zero_pad(text: pa.Array, width: int) -> pa.Array:
    """Left-pad codes with zeros; skipped when every code already has its full width
    (the usual case: the Receita pads most codes itself)."""
    lengths = _byte_lengths(text)
    present = lengths[lengths > 0]  # nulls (empty fields) have length 0
    if present.size == 0 or present.min() >= width:
        return text
    return pc.utf8_lpad(text, width, "0")


def type_batch(
    batch: pa.RecordBatch,
    layout: Layout,
    check_control_chars: bool = False,
    check_mojibake: bool = False,
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Type one string batch by its layout; returns the typed rows and ``(index, reason)``
    of the rows that failed a check (their typed values are unreliable: drop them)."""
    columns: list[pa.Array] = []
    checks: list[tuple[pa.Array, str]] = []
    for column in layout.columns:
        text = batch.column(column.name)
        if check_control_chars and column.kind is Kind.TEXT:
            found = pc.fill_null(pc.match_substring_regex(text, _CONTROL_CHARS), False)
            checks.append((found, f"undecodable bytes in {column.name}"))
        if check_mojibake and column.kind is Kind.TEXT:
            found = pc.fill_null(pc.match_substring_regex(text, _MOJIBAKE_CHARS), False)
            checks.append((found, f"UTF-8 text read as Latin-1 (mojibake) in {column.name}"))
        if column.kind is Kind.DATE:
            dates, impossible = _date_problems(text)
            checks.append((impossible, f"impossible date in {column.name}"))
            columns.append(dates)
        elif column.kind is Kind.DECIMAL:
            malformed = pc.invert(pc.fill_null(pc.match_substring_regex(text, _DECIMAL_TEXT), True))
            checks.append((malformed, f"malformed decimal in {column.name}"))
            cleaned = pc.if_else(malformed, pa.scalar(None, pa.string()), text)
            columns.append(pc.cast(pc.replace_substring(cleaned, ",", "."), DECIMAL_TYPE))
        elif column.kind is Kind.CODE:
            columns.append(_zero_pad(text, column.width))
        else:
            columns.append(text)
    typed = pa.Table.from_arrays(columns, schema=layout.schema())
    problems: list[tuple[int, str]] = []
    for mask, reason in checks:
        if pc.any(mask).as_py():
            already = {index for index, _ in problems}
            hits = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            problems += [(int(index), reason) for index in hits if index not in already]
    return typed, sorted(problems)


def add_establishment_columns(typed: pa.Table) -> tuple[pa.Table, int]:
    """Add the full 14-character ``cnpj`` and ``municipio_ibge``; also count unmapped
    municipality codes (kept: an unmapped code is not a bad row)."""
    parts = [typed["cnpj_basico"], typed["cnpj_ordem"], typed["cnpj_dv"]]
    cnpj = pc.binary_join_element_wise(*parts, "")
    crosswalk = ibge_by_tom()
    toms = pa.array(list(crosswalk.keys()), pa.string())
    ibges = pa.array(list(crosswalk.values()), pa.string())
    municipio = typed["municipio"]
    positions = pc.index_in(municipio, value_set=toms)
    ibge = pc.take(ibges, positions)
    unmapped = pc.sum(pc.and_(pc.is_valid(municipio), pc.is_null(positions))).as_py() or 0
    typed = typed.append_column("cnpj", cnpj).append_column("municipio_ibge", ibge)
    return typed, unmapped


def scope_mask(typed: pa.Table, cnaes: list[str] | None, ufs: list[str] | None) -> pa.Array | None:
    """Establishments in the chosen channels (main CNAE) and states; None = keep all."""
    mask = None
    if cnaes:
        wanted = pa.array([code.strip().replace("-", "").replace("/", "") for code in cnaes])
        mask = pc.is_in(typed["cnae_fiscal_principal"], value_set=wanted)
    if ufs:
        in_uf = pc.is_in(typed["uf"], value_set=pa.array([uf.strip().upper() for uf in ufs]))
        mask = in_uf if mask is None else pc.and_(mask, in_uf)
    return None if mask is None else pc.fill_null(mask, False)


def raw_line(batch: pa.RecordBatch, index: int) -> str:
    """The Receita text of one row (fields re-quoted as in the file)."""
    fields = [batch.column(i)[index].as_py() or "" for i in range(batch.num_columns)]
    return ";".join(f'"{field}"' for field in fields)
