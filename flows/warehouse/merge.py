"""SQL shared by every engine: staging DDL from a Parquet schema, and the partition swap.

Statements are written in Redshift SQL and rendered per dialect through sqlglot, like
the files in ``flows/sql/``. The swap (DELETE the partition, INSERT ... SELECT from
staging) runs inside the load's single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from flows.warehouse.tables import SNAPSHOT, TrustedInput, check_release
from flows.warehouse.views import TEXT_TYPES, core_tables, translate


class MissingColumnError(ValueError):
    """A trusted table lacks a column its core table requires (NOT NULL in core.sql)."""


def quote(name: str) -> str:
    """A quoted identifier (trusted column names come from files)."""
    return exp.to_identifier(name, quoted=True).sql(dialect="redshift")


def sql_type(arrow_type: pa.DataType, dialect: str) -> str:
    """The column type a staging table gets for an Arrow type."""
    if pa.types.is_dictionary(arrow_type):
        return sql_type(arrow_type.value_type, dialect)
    # An all-null column (Arrow type null) is staged as text; the swap casts it.
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_null(arrow_type)
    ):
        # Redshift's TEXT is VARCHAR(256): ask for the maximum instead.
        return {"redshift": "VARCHAR(65535)", "postgres": "TEXT"}.get(dialect, "VARCHAR")
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type):
        return "SMALLINT"
    if pa.types.is_int32(arrow_type) or pa.types.is_uint8(arrow_type):
        return "INTEGER"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_float32(arrow_type):
        return "REAL"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    raise TypeError(f"no warehouse type for Arrow type {arrow_type}")


def create_staging_sql(
    staging: str, schema: pa.Schema, dialect: str, unlogged: bool = False
) -> list[str]:
    """Drop and recreate a staging table shaped exactly like the Parquet schema."""
    columns = ", ".join(f"{quote(f.name)} {sql_type(f.type, dialect)}" for f in schema)
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    return [f"DROP TABLE IF EXISTS {staging}", f"CREATE {kind} {staging} ({columns})"]


@dataclass(frozen=True)
class SwapPlan:
    """The statements replacing one partition, and what the trusted data lacked."""

    statements: list[str]
    null_columns: list[str]  # optional core columns absent from the trusted data


def _same_kind(arrow_type: pa.DataType, core_type: exp.DataType) -> bool:
    """True when a staged column already has the core column's type (text or date)."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return core_type.this in TEXT_TYPES
    return pa.types.is_date32(arrow_type) and core_type.this == exp.DataType.Type.DATE


def _sources(item: TrustedInput) -> dict[str, str | None]:
    """Core column -> the trusted column that fills it (None: the trusted data lacks it)."""
    available = set(item.schema.names)
    spec = item.spec
    return {
        column.name: next((n for n in spec.source_names(column.name) if n in available), None)
        for column in core_tables()[spec.core]
        if not (spec.partition == "release" and column.name == "release")
    }


def used_columns(item: TrustedInput) -> list[str]:
    """The trusted columns its core table takes: the only ones worth staging."""
    used = {source for source in _sources(item).values() if source is not None}
    return [name for name in item.schema.names if name in used]


def swap_plan(item: TrustedInput, dialect: str) -> SwapPlan:
    """DELETE the partition(s) being loaded, then INSERT ... SELECT them from staging."""
    spec = item.spec
    sources = _sources(item)
    selected, null_columns = [], []
    for column in core_tables()[spec.core]:
        type_sql = column.type.sql(dialect="redshift")
        if spec.partition == "release" and column.name == "release":
            selected.append(f"CAST('{check_release(item.release or '')}' AS {type_sql})")
            continue
        source = sources[column.name]
        if source is None:
            if column.not_null:
                raise MissingColumnError(
                    f"{spec.core}.{column.name} needs one of {spec.source_names(column.name)} "
                    f"in the trusted data; it has {sorted(item.schema.names)}"
                )
            null_columns.append(column.name)
            selected.append(f"CAST(NULL AS {type_sql})")
        elif _same_kind(item.schema.field(source).type, column.type):
            # No CAST: it costs ~15% of a DuckDB load, and an over-long text then fails
            # the INSERT loudly instead of being truncated by the cast.
            selected.append(quote(source))
        else:
            selected.append(f"CAST({quote(source)} AS {type_sql})")
    names = ", ".join(quote(column.name) for column in core_tables()[spec.core])
    if spec.partition == "release":
        delete = f"DELETE FROM {spec.core} WHERE release = '{check_release(item.release or '')}'"
    elif spec.partition == "sale_date":
        delete = (
            f"DELETE FROM {spec.core} WHERE sale_date IN "
            f"(SELECT DISTINCT CAST(sale_date AS DATE) FROM {spec.staging})"
        )
    else:
        # DELETE, not TRUNCATE: TRUNCATE commits the open transaction on Redshift.
        delete = f"DELETE FROM {spec.core}"
    insert = f"INSERT INTO {spec.core} ({names}) SELECT {', '.join(selected)} FROM {spec.staging}"
    return SwapPlan(translate(f"{delete}; {insert}", dialect), null_columns)


def loaded_rows_sql(item: TrustedInput, dialect: str) -> str:
    """Rows per partition now in the core table (label, count)."""
    spec = item.spec
    if spec.partition == "release":
        release = check_release(item.release or "")
        sql = f"SELECT release, COUNT(*) FROM {spec.core} WHERE release = '{release}'"
        sql += " GROUP BY release"
    elif spec.partition == "sale_date":
        sql = f"SELECT sale_date, COUNT(*) FROM {spec.core} GROUP BY sale_date"
    else:
        sql = f"SELECT '{SNAPSHOT}', COUNT(*) FROM {spec.core}"
    return translate(sql, dialect)[0]
