"""Vectorised text building for the sample generator (numpy + pyarrow.compute).

Building a million CSV lines with per-row Python f-strings is too slow, so columns
are built as Arrow string arrays and joined in C++; check digits are computed on
uint8 matrices.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.identifiers import cnpj_check_digit_matrix, cpf_check_digit_matrix

_BASE36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
EPOCH = np.datetime64("1970-01-01", "D")


def choose(values: tuple[str, ...] | pa.Array, idx: np.ndarray) -> pa.Array:
    """Arrow string array of ``values[idx]``."""
    table = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return table.take(pa.array(idx, pa.int32()))


def pick(rng: np.random.Generator, values, n: int, p=None) -> pa.Array:
    """``n`` random picks of ``values`` (optionally weighted) as an Arrow string array."""
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return choose(values, rng.choice(len(values), size=n, p=weights))


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings of ``width``."""
    return _matrix_to_strings(digit_matrix(values, width))


def plain(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings without padding."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def join(*parts, sep: str = "") -> pa.Array:
    """Element-wise concatenation of Arrow arrays and/or Python strings."""
    return pc.binary_join_element_wise(*parts, sep)


def constant(value: str, n: int) -> pa.Array:
    """``n`` copies of ``value``."""
    return pa.repeat(pa.scalar(value, pa.string()), n)


def where(mask: np.ndarray, yes, no) -> pa.Array:
    """``yes`` where ``mask`` else ``no`` (arrays or scalars), as strings."""
    return pc.if_else(pa.array(mask, pa.bool_()), yes, no)


def yyyymmdd(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 as ``YYYYMMDD`` strings (numpy: Arrow's strftime is slow)."""
    day = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    number = (
        year * 10_000 + (month.astype(np.int64) % 12 + 1) * 100 + (day - month).astype(np.int64) + 1
    )
    return digits(number, 8)


def to_days(iso: str) -> int:
    """``2026-11-08`` -> days since the epoch."""
    return int((np.datetime64(iso, "D") - EPOCH).astype(int))


def money(cents: np.ndarray) -> pa.Array:
    """Cents as Receita money text with a decimal comma: 123456 -> ``1234,56``."""
    cents = np.asarray(cents, dtype=np.int64)
    return join(plain(cents // 100), ",", digits(cents % 100, 2))


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10).astype(np.uint8) + ord("0")


def _matrix_to_strings(chars: np.ndarray) -> pa.Array:
    """An (n, w) uint8 matrix of ASCII codes -> n strings of width w."""
    n, width = chars.shape
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
    return pa.StringArray.from_buffers(n, offsets, data)


def base36(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as an (n, width) uint8 matrix of ``[0-9A-Z]``."""
    values = np.asarray(values, dtype=np.int64)
    powers = 36 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return _BASE36[(values[:, None] // powers) % 36]


def cnpj_check_digits(body: np.ndarray) -> np.ndarray:
    """Check digits of an (n, 12) uint8 matrix of ``[0-9A-Z]`` CNPJ bodies -> (n, 2)."""
    check = cnpj_check_digit_matrix(body.astype(np.int64) - 48)
    return check.astype(np.uint8) + ord("0")


def cpf_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random valid CPFs as an (n, 11) uint8 matrix of ASCII digits."""
    body = rng.integers(0, 10, size=(n, 9), dtype=np.int64)
    body[:, 0] = rng.integers(1, 10, size=n)  # avoid 000... bodies
    check = cpf_check_digit_matrix(body)
    return np.column_stack([body, check]).astype(np.uint8) + ord("0")


def strings(chars: np.ndarray) -> pa.Array:
    """Public wrapper: (n, w) uint8 ASCII matrix -> Arrow strings."""
    return _matrix_to_strings(chars)


def receita_lines(columns: list[pa.Array]) -> pa.Array:
    """Join columns into Receita lines: every field double-quoted, ``;``, ``\\n``."""
    inner = pc.binary_join_element_wise(*columns, '";"')
    return pc.binary_join_element_wise('"', inner, '"\n', "")


def concat_bytes(lines: pa.Array, encoding: str) -> bytes:
    """All lines of a string array as one byte string in ``encoding``."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    raw = lines.buffers()[2].to_pybytes()[start:end]
    return raw if encoding == "utf-8" else raw.decode("utf-8").encode(encoding)
