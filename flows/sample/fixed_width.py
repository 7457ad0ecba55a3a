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
        text = _text(np.asarray(column), item.type, decimals.get(name, 2))
        too_long = [value for value in text if len(value) > item.width]
        if too_long:
            raise ValueError(f"{name}: {too_long[0]!r} does not fit {item.width} characters")
        cells = np.char.rjust(text.astype(str), item.width).astype(f"S{item.width}")
        start = item.start - 1
        lines[:, start : start + item.width] = cells.view(np.uint8).reshape(count, item.width)
    return lines.tobytes()


def _text(column: np.ndarray, kind: str, places: int) -> np.ndarray:
    """Each value as text ("" for None/NaN); numpy arrays of numbers need no Python loop."""
    if column.dtype.kind == "f":
        blank = np.isnan(column)
    elif column.dtype.kind in "iuU":
        blank = np.zeros(len(column), dtype=bool)
    else:
        blank = np.array([v is None or (isinstance(v, float) and v != v) for v in column], bool)
    if kind == "float64":
        text = np.char.mod(f"%.{places}f", np.where(blank, 0, column).astype(float))
    elif kind == "int64":
        text = np.char.mod("%d", np.where(blank, 0, column).astype(np.int64))
    else:
        text = column.astype(str)
    return np.where(blank, "", text)
