"""Read a public CSV with pyarrow and validate tables against their catalog entry with pandera.

pyarrow does the parsing (encoding, separator, decimal comma); pandera checks the declared
schema (required columns, types, nullability, ranges, patterns, keys) and reports every
problem at once, so the message names each column and what is wrong with it.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from pandera.errors import SchemaErrors

from flows.sources.public.catalog import ARROW_TYPES, ColumnSpec, DatasetEntry
from flows.sources.public.errors import DatasetError

# pyarrow parses these itself from the declared type. Floats are left to its inference (with
# the file's decimal mark) and integers are read as text, so that a bad value becomes a
# validation failure naming the column and value instead of a read error; text also keeps
# pandas from silently truncating "1.5" into an integer column.
FORCED_TYPES = ("string", "date", "bool")
MAX_EXAMPLES = 3
# pandas' nullable types: pandera's coercion into them reports exactly the values that fail.
PANDAS_TYPES: dict[str, Any] = {
    "string": pd.StringDtype(),
    "int16": pd.Int16Dtype(),
    "int32": pd.Int32Dtype(),
    "int64": pd.Int64Dtype(),
    "float64": pd.Float64Dtype(),
    "bool": pd.BooleanDtype(),
    "date": pd.ArrowDtype(pa.date32()),
}
TO_PANDAS: dict[pa.DataType, Any] = {
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.date32(): pd.ArrowDtype(pa.date32()),
}


def read_csv(entry: DatasetEntry, data: bytes, *, infer_numbers: bool = True) -> pa.Table:
    """Parse the CSV bytes as declared by the entry's ``read`` section."""
    spec = entry.read
    forced = {c.source: ARROW_TYPES[c.type] for c in entry.columns if c.type in FORCED_TYPES}
    forced.update({c.source: pa.string() for c in entry.columns if c.type.startswith("int")})
    if not infer_numbers:
        forced.update({c.source: pa.string() for c in entry.columns if c.source not in forced})
    return pcsv.read_csv(
        io.BytesIO(data),
        read_options=pcsv.ReadOptions(encoding=spec.encoding),
        parse_options=pcsv.ParseOptions(delimiter=spec.separator),
        convert_options=pcsv.ConvertOptions(
            column_types=forced,
            decimal_point=spec.decimal,
            null_values=[""],
            strings_can_be_null=True,
        ),
    )


def pandera_schema(name: str, entry: DatasetEntry) -> pandera.DataFrameSchema:
    """The entry's declared schema as a pandera schema keyed by source column names."""
    by_name = {c.name: c.source for c in entry.columns}
    return pandera.DataFrameSchema(
        {c.source: _pandera_column(c) for c in entry.columns},
        unique=[by_name[n] for n in entry.unique] or None,
        coerce=True,
        strict=False,
        name=name,
    )


def _pandera_column(column: ColumnSpec) -> pandera.Column:
    checks = []
    if column.min is not None:
        checks.append(pandera.Check.ge(column.min))
    if column.max is not None:
        checks.append(pandera.Check.le(column.max))
    if column.pattern is not None:
        checks.append(pandera.Check.str_matches(column.pattern))
    if column.allowed is not None:
        checks.append(pandera.Check.isin(column.allowed))
    return pandera.Column(
        PANDAS_TYPES[column.type],
        checks,
        nullable=column.nullable,
        required=column.required,
        title=column.name,
    )


def _numbers_with_decimal_point(entry: DatasetEntry, table: pa.Table) -> pa.Table:
    """Numeric columns pyarrow could not infer stay text: give them a '.' decimal mark so the
    schema's type coercion fails only on the values that really are not numbers."""
    if entry.read.decimal == ".":
        return table
    for column in entry.columns:
        numeric = column.type.startswith(("int", "float"))
        if numeric and column.source in table.column_names:
            index = table.column_names.index(column.source)
            values = table.column(index)
            if pa.types.is_string(values.type):
                fixed = pc.replace_substring(values, entry.read.decimal, ".")
                table = table.set_column(index, column.source, fixed)
    return table


def describe_failures(entry: DatasetEntry, failure_cases: pd.DataFrame) -> str:
    """One phrase per column and problem, with a few offending values and their file lines."""
    readable = entry.rename_map
    cases: dict[tuple[str, str], list[tuple[str, int | None]]] = defaultdict(list)
    for case in failure_cases.itertuples(index=False):
        # Row positions count from 0 after the header line, so file line = position + 2.
        line = None if _missing(case.index) else int(case.index) + 2
        cases[(_text(case.column), str(case.check))].append((_text(case.failure_case), line))
    wrong_type = {column for column, check in cases if check.startswith("coerce_dtype")}
    problems: list[str] = []
    duplicate_lines: set[int] = set()
    for (column, check), found in cases.items():
        where = f"column {column!r} ({readable[column]})" if column in readable else "table"
        if check == "column_in_dataframe":
            missing = ", ".join(repr(value) for value, _ in found)
            problems.append(f"required column {missing} is missing")
        elif check.startswith("coerce_dtype"):
            wanted = _declared_type(entry, column)
            values = [(value, line) for value, line in found if value]
            if values:
                problems.append(f"{where}: values are not {wanted}: {_examples(values)}")
            else:  # pandera names no value when e.g. fractional numbers meet an int column
                found_type = next(
                    (
                        v
                        for (c, k), f in cases.items()
                        if c == column and k.startswith("dtype(")
                        for v, _ in f
                    ),
                    "another type",
                )
                problems.append(f"{where}: values are not {wanted} (found {found_type})")
        elif column in wrong_type:
            continue  # other checks on a column of the wrong type only repeat the problem
        elif "uniqueness" in check or check == "unique":
            duplicate_lines.update(line for _, line in found if line is not None)
        elif check == "not_nullable":
            shown = ", ".join(str(line) for _, line in found[:MAX_EXAMPLES] if line is not None)
            problems.append(f"{where}: empty values are not allowed (lines {shown})")
        else:
            problems.append(f"{where}: fails {check}: {_examples(found)}")
    if duplicate_lines:
        lines = sorted(duplicate_lines)
        shown = ", ".join(map(str, lines[: MAX_EXAMPLES * 2]))
        problems.append(f"duplicate rows on key ({', '.join(entry.unique)}): lines {shown}")
    return "; ".join(problems)


def _examples(found: list[tuple[str, int | None]]) -> str:
    shown = ", ".join(
        repr(value) + ("" if line is None else f" (line {line})")
        for value, line in found[:MAX_EXAMPLES]
    )
    more = len(found) - MAX_EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")


def _declared_type(entry: DatasetEntry, source: str) -> str:
    return next((c.type for c in entry.columns if c.source == source), "the declared type")


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def read_and_validate(name: str, entry: DatasetEntry, data: bytes) -> tuple[pa.Table, str]:
    """Parse, validate and rename one file; returns the typed table and notes for the run log.

    Raises DatasetError naming each column and problem when the file does not match.
    """
    try:
        try:
            table = read_csv(entry, data)
        except pa.ArrowInvalid:
            # Inference looks at the first block only; a bad value further down surfaces here.
            # Read numbers as text so validation can say which column and value is wrong.
            table = read_csv(entry, data, infer_numbers=False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise DatasetError(
            f"{name}: cannot be read as declared ({entry.read.encoding}, "
            f"separator {entry.read.separator!r}): {error}"
        ) from None

    declared = [c.source for c in entry.columns]
    extra = [column for column in table.column_names if column not in declared]
    table = _numbers_with_decimal_point(entry, table.drop_columns(extra))
    frame = table.to_pandas(types_mapper=TO_PANDAS.get)
    typed = _validated(name, entry, frame)
    notes = f"ignored undeclared columns: {', '.join(extra)}" if extra else ""
    return typed, notes


def validate_table(name: str, entry: DatasetEntry, table: pa.Table) -> tuple[pa.Table, str]:
    """Check a built table (IPM-NM, POF aggregates, population) against its declared columns.

    Row numbers in messages count the table's rows from 1 plus one, as for a file's header.
    """
    declared = [c.source for c in entry.columns]
    extra = [column for column in table.column_names if column not in declared]
    frame = table.drop_columns(extra).to_pandas(types_mapper=TO_PANDAS.get)
    notes = f"left out undeclared columns: {', '.join(extra)}" if extra else ""
    return _validated(name, entry, frame), notes


def _validated(name: str, entry: DatasetEntry, frame: pd.DataFrame) -> pa.Table:
    try:
        frame = pandera_schema(name, entry).validate(frame, lazy=True)
    except SchemaErrors as errors:
        message = describe_failures(entry, errors.failure_cases)
        raise DatasetError(f"{name}: schema mismatch: {message}") from None

    arrays = []
    for column in entry.columns:
        arrow_type = ARROW_TYPES[column.type]
        if column.source in frame.columns:
            values = pa.Array.from_pandas(frame[column.source])
            arrays.append(values.cast(arrow_type))
        else:
            arrays.append(pa.nulls(len(frame), arrow_type))
    return pa.Table.from_arrays(arrays, schema=entry.arrow_schema)
