"""Read a table out of a published spreadsheet (``.xls``, ``.xlsx``, ``.ods``) by its content.

IBGE's spreadsheets are formatted for people: a title row, the header somewhere below, data,
then source and note rows; the sheet name changes case between years, codes are text in some
rows and numbers in others, and populations carry footnote marks (``539354(1)``) and
thousands dots (``548.952(1)``). So nothing is found by position: the sheet by name (any
case), the header as the first row holding every declared title, and the data as the rows
below it whose first declared column is a value, up to the first row where it is not.
One maintained reader (python-calamine, Rust) handles all three formats.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa
from python_calamine import CalamineWorkbook

from flows.sources.public.catalog import SheetColumn
from flows.sources.public.errors import DatasetError

FOOTNOTE = re.compile(r"\(\s*\d+\s*\)")
THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")
ARROW_TYPES = {"code": pa.string(), "integer": pa.int64(), "text": pa.string()}


@dataclass(frozen=True)
class SheetTable:
    """The data rows of one sheet, and the text above the header (titles, dates)."""

    table: pa.Table
    sheet: str
    header_row: int  # 1-based, as a spreadsheet program shows it
    preamble: list[str]


def read_sheet(
    source: bytes | IO[bytes], *, file: str, sheet: str, columns: Sequence[SheetColumn]
) -> SheetTable:
    """The declared columns of ``sheet``; raises DatasetError naming the file, sheet and what
    was expected when the sheet or the header row cannot be found or a value is wrong."""
    data = source if isinstance(source, bytes) else source.read()
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # calamine raises its own types per format
        raise DatasetError(f"{file}: not a readable spreadsheet: {error}") from None
    found = {_normal(name): name for name in workbook.sheet_names}
    if _normal(sheet) not in found:
        names = ", ".join(repr(name) for name in workbook.sheet_names)
        raise DatasetError(f"{file}: no sheet named {sheet!r} (any case); it has {names}")
    name = found[_normal(sheet)]
    rows = iter(workbook.get_sheet_by_name(name).iter_rows())

    titles = [_normal(column.title) for column in columns]
    preamble: list[str] = []
    positions: list[int] = []
    header_row = 0
    for header_row, row in enumerate(rows, 1):  # noqa: B007 - header_row is used after
        cells: list[Any] = [_normal(value) if isinstance(value, str) else None for value in row]
        if all(title in cells for title in titles):
            positions = [cells.index(title) for title in titles]
            break
        preamble.append(" ".join(str(value) for value in row if value not in ("", None)))
    else:
        expected = ", ".join(repr(column.title) for column in columns)
        raise DatasetError(
            f"{file}, sheet {name!r}: header row not found: no row holds the titles "
            f"{expected} (looked at {header_row} rows)"
        )

    values: list[list[Any]] = [[] for _ in columns]
    for number, row in enumerate(rows, header_row + 1):
        cells = [row[p] if p < len(row) else "" for p in positions]
        if _value(cells[0], columns[0]) is None:
            break  # the first row that is not data (blank, "Fonte:", notes) ends the table
        for index, (cell, column) in enumerate(zip(cells, columns, strict=True)):
            value = _value(cell, column)
            if value is None:
                raise DatasetError(
                    f"{file}, sheet {name!r}, row {number}: column {column.title!r} holds "
                    f"{cell!r}, expected {_expected(column)}"
                )
            values[index].append(value)
    table = pa.table(
        {c.name: pa.array(v, ARROW_TYPES[c.kind]) for c, v in zip(columns, values, strict=True)}
    )
    return SheetTable(table, name, header_row, preamble)


def _normal(value: object) -> str:
    """Titles and sheet names compare without case, accents' composition or extra spaces."""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split()).casefold()


def _value(cell: object, column: SheetColumn) -> str | int | None:
    """The cleaned value of one cell, or None when it is not a value of that kind."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        if column.kind == "text" or cell != cell or not float(cell).is_integer() or cell < 0:
            return None
        number = int(cell)
        return number if column.kind == "integer" else _code(str(number), column)
    if not isinstance(cell, str):
        return None  # dates and times are never codes, counts or names here
    text = " ".join(FOOTNOTE.sub("", cell).split())
    if not text:
        return None
    if column.kind == "text":
        return text
    compact = text.replace(" ", "")
    if column.kind == "integer":
        if THOUSANDS.match(compact):
            compact = compact.replace(".", "")
        return int(compact) if compact.isdigit() else None
    return _code(compact, column)


def _code(text: str, column: SheetColumn) -> str | None:
    digits = column.digits or 0
    if not text.isdigit() or len(text) > digits:
        return None
    return text.zfill(digits)


def _expected(column: SheetColumn) -> str:
    if column.kind == "code":
        return f"a code of up to {column.digits} digits"
    return "a whole number" if column.kind == "integer" else "some text"
