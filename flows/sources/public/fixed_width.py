"""Stream fixed-width ASCII records (IBGE's POF microdata) into Arrow record batches.

The bytes are read in blocks of whole lines. Every line of a layout has the same length, so
numpy checks the line ends of a whole block at once, the block becomes one Arrow binary
array without copying (offsets = line starts), and each field is one
``pyarrow.compute.binary_slice`` over all its lines: there is no Python loop per line, which
is what lets ~2 million records be read in seconds.

IBGE's conventions: ASCII, CRLF line ends, no header, numbers right-aligned and padded with
spaces, an explicit ``.`` decimal point, and blank fields meaning "no value" (null).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.sources.public.catalog import Layout, LayoutField
from flows.sources.public.errors import DatasetError

BLOCK_BYTES = 16 << 20  # ~120,000 POF lines per batch: big enough to amortise, small in memory
ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_CR, _LF = 13, 10


def read_records(
    stream: IO[bytes],
    layout: Layout,
    *,
    file: str,
    columns: Iterable[str] | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``columns`` (default: every field of the layout), typed and trimmed.

    Raises DatasetError naming ``file``, the line number and the expected length when a line
    has the wrong length, and the line and field when a number does not parse.
    """
    fields = _select(layout, columns, file)
    schema = pa.schema([pa.field(f.name, ARROW_TYPES[f.type]) for f in fields])
    first_line, carry = 1, b""
    while block := stream.read(block_bytes):
        data = carry + block if carry else block
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            batch = _parse_block(data[:cut], layout, fields, schema, file, first_line)
            first_line += batch.num_rows
            yield batch
    if carry:  # a last line without its CRLF: still a record if its length is right
        yield _parse_block(carry + b"\r\n", layout, fields, schema, file, first_line)


def read_member(
    archive: zipfile.ZipFile,
    member: str,
    layout: Layout,
    *,
    file: str,
    columns: Iterable[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream one ``.txt`` member of a microdata zip (decompressed block by block)."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        found = ", ".join(archive.namelist()) or "nothing"
        raise DatasetError(f"{file}: has no member {member} (it holds {found})") from None
    with archive.open(info) as stream:
        yield from read_records(stream, layout, file=f"{file}:{member}", columns=columns)


def _select(layout: Layout, columns: Iterable[str] | None, file: str) -> list[LayoutField]:
    if columns is None:
        return list(layout.fields)
    wanted = list(columns)
    known = {f.name: f for f in layout.fields}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise DatasetError(f"{file}: the layout has no field {', '.join(unknown)}")
    return [known[name] for name in wanted]


def _parse_block(
    data: bytes,
    layout: Layout,
    fields: list[LayoutField],
    schema: pa.Schema,
    file: str,
    first_line: int,
) -> pa.RecordBatch:
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == _LF)
    starts = np.empty_like(ends)
    starts[0], starts[1:] = 0, ends[:-1] + 1
    _check_lines(raw, starts, ends, layout.length, file, first_line)
    offsets = np.append(starts, len(raw)).astype(np.int32)
    lines = pa.Array.from_buffers(
        pa.binary(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    arrays = [_field(lines, item, file, first_line) for item in fields]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _check_lines(
    raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, length: int, file: str, first: int
) -> None:
    """Every line is ``length`` ASCII characters + CRLF, or the file is not this layout."""
    with_cr = ends - starts  # the CR is counted, the LF is not
    has_cr = (with_cr > 0) & (raw[np.maximum(ends - 1, 0)] == _CR)
    characters = with_cr - has_cr
    wrong = np.flatnonzero(characters != length)
    if wrong.size:
        index = int(wrong[0])
        raise DatasetError(
            f"{file}: line {first + index} has {int(characters[index])} characters, "
            f"expected {length} (fixed-width layout)"
        )
    no_cr = np.flatnonzero(~has_cr)
    if no_cr.size:
        raise DatasetError(f"{file}: line {first + int(no_cr[0])} does not end in CRLF")
    high = np.flatnonzero(raw > 127)
    if high.size:
        line = first + int(np.searchsorted(ends, high[0]))
        raise DatasetError(f"{file}: line {line} has a non-ASCII byte (IBGE files are ASCII)")


def _field(lines: pa.Array, item: LayoutField, file: str, first_line: int) -> pa.Array:
    start = item.start - 1
    text = pc.binary_slice(lines, start, start + item.width).cast(pa.string())
    text = pc.utf8_trim_whitespace(text)
    blank = pc.equal(text, "")
    text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    if item.type == "string":
        return text
    try:
        return text.cast(ARROW_TYPES[item.type])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pattern = r"^[+-]?\d+$" if item.type == "int64" else NUMBER
        ok = pc.fill_null(pc.match_substring_regex(text, pattern), True)
        index = int(pc.index(ok, False).as_py())
        raise DatasetError(
            f"{file}: line {first_line + index}, field {item.name} (start {item.start}, "
            f"width {item.width}): {text[index].as_py()!r} is not {_what(item.type)}"
        ) from None


def _what(kind: str) -> str:
    return "an integer" if kind == "int64" else "a number with a '.' decimal point"
