"""Write records in IBGE's fixed-width layout (for the sample release, fixtures, benchmarks).

The inverse of ``flows.sources.public.fixed_width``: ASCII, CRLF, every value right-aligned
and space-padded in its field, numbers with an explicit ``.`` decimal point, fields not given
left blank. Vectorised with numpy (a byte matrix, one column slice per field), so millions of
benchmark lines take seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flows.sources.public.catalog import Layout

SPACE, CR, LF = 32, 13, 10


def format_records(
    layout: Layout,
    values: Mapping[str, Sequence[Any] | np.ndarray],
    decimals: Mapping[str, int] | None = None,
) -> bytes:
    """The lines (with CRLF) of ``values`` (field name -> one value per record).

    Floats get ``decimals[name]`` decimal places (default 2); None or NaN leaves the field
    blank. Raises ValueError when a value does not fit its field.
    """
    decimals = decimals or {}
    counts = {len(column) for column in values.values()}
    if len(counts) != 1:
        raise ValueError("every field needs one value per record")
    count = counts.pop()
    lines = np.full((count, layout.length + 2), SPACE, dtype=np.uint8)
    lines[:, -2], lines[:, -1] = CR, LF
    for name, column in values.items():
        item = layout.field(name)
        cells = _cells(np.asarray(column), item.type, item.width, decimals.get(name, 2), name)
        start = item.start - 1
        lines[:, start : start + item.width] = cells
    return lines.tobytes()


def _cells(column: np.ndarray, kind: str, width: int, places: int, name: str) -> np.ndarray:
    """The field's bytes for every record, ``(records, width)``, right-aligned."""
    if kind == "string":
        return _text_cells(column, width, name)
    if column.dtype.kind == "O":  # a list with None for blanks
        column = np.array([np.nan if v is None else v for v in column], dtype=float)
    blank = np.isnan(column) if column.dtype.kind == "f" else np.zeros(len(column), bool)
    scaled = np.where(blank, 0, column).astype(float) * 10.0**places if kind == "float64" else None
    number = np.rint(scaled).astype(np.int64) if scaled is not None else column.astype(np.int64)
    places = places if kind == "float64" else 0
    if (number < 0).any():
        raise ValueError(f"{name}: negative values are not written")
    cells = np.full((len(column), width), SPACE, dtype=np.uint8)
    # Digits from the right, one column of the whole batch at a time (no loop per record).
    rest, position = number.copy(), width - 1
    for _ in range(places):
        cells[:, position] = 48 + rest % 10
        rest //= 10
        position -= 1
    if places:
        cells[:, position] = ord(".")
        position -= 1
    first = True
    while position >= 0:
        write = (rest > 0) | first  # at least one integer digit ("0.50")
        cells[write, position] = 48 + (rest[write] % 10)
        rest //= 10
        position -= 1
        first = False
    if (rest > 0).any():
        value = column[np.flatnonzero(rest > 0)[0]]
        raise ValueError(f"{name}: {value!r} does not fit {width} characters")
    cells[blank] = SPACE
    return cells


def _text_cells(column: np.ndarray, width: int, name: str) -> np.ndarray:
    if column.dtype.kind == "O":
        blank = np.array([v is None or (isinstance(v, float) and v != v) for v in column], bool)
        column = np.where(blank, "", column.astype(str))
    text = column
    text = np.asarray(text).astype(str)
    if text.dtype.itemsize // 4 > width:  # some value may be longer than the field
        too_long = np.flatnonzero(np.char.str_len(text) > width)
        if too_long.size:
            raise ValueError(f"{name}: {text[too_long[0]]!r} does not fit {width} characters")
    encoded = text.astype(f"S{width}").view(np.uint8).reshape(len(text), width)
    if (encoded != 0).all():  # every value fills its field: nothing to align
        return encoded
    aligned = np.char.rjust(text, width).astype(f"S{width}")
    return aligned.view(np.uint8).reshape(len(text), width)
