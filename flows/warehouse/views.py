"""The SQL in ``flows/sql/``: written once in Redshift SQL, translated with sqlglot.

Redshift-only clauses (DISTKEY, SORTKEY, DISTSTYLE, ENCODE, BACKUP) have no meaning
elsewhere, so they are removed from the parsed tree before DuckDB or PostgreSQL SQL is
generated; functions (``NVL``, ``GETDATE``, ``DATEADD``...) are translated by sqlglot.
One exception: ``ENCODE ZSTD`` on a text column becomes DuckDB's ``USING COMPRESSION
zstd``, because the reason for it is the same in both engines (see ``core.sql``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SOURCE_DIALECT = "redshift"

_REDSHIFT_ONLY_PROPERTIES = (
    exp.DistKeyProperty,
    exp.DistStyleProperty,
    exp.SortKeyProperty,
    exp.BackupProperty,
)


@dataclass(frozen=True)
class CoreColumn:
    """One column of a core table, as declared in ``core.sql``."""

    name: str
    type: exp.DataType
    not_null: bool


# Text column types (the only ones DuckDB can store with zstd).
TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT}
# Redshift column encodings that DuckDB honours too; any other ENCODE lets DuckDB choose.
_DUCKDB_COMPRESSION = {"ZSTD": "zstd"}


def _duckdb_compression(node: exp.Expression) -> exp.Expression:
    """``ENCODE ZSTD`` on a text column -> DuckDB's ``USING COMPRESSION zstd``."""
    if isinstance(node, exp.ColumnConstraint) and isinstance(
        node.args.get("kind"), exp.EncodeColumnConstraint
    ):
        method = _DUCKDB_COMPRESSION.get(node.args["kind"].name.upper())
        column = node.parent
        if method and isinstance(column, exp.ColumnDef) and column.args["kind"].this in TEXT_TYPES:
            # sqlglot has no node for DuckDB's clause; a Var renders it verbatim.
            return exp.ColumnConstraint(kind=exp.Var(this=f"USING COMPRESSION {method}"))
    return node


def _strip_redshift_only(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, _REDSHIFT_ONLY_PROPERTIES):
        return None
    if isinstance(node, exp.ColumnConstraint) and isinstance(
        node.args.get("kind"), exp.EncodeColumnConstraint
    ):
        return None
    return node


def to_dialect(statement: exp.Expression, dialect: str) -> str:
    """Render one parsed Redshift statement for ``dialect`` (a sqlglot dialect name)."""
    if dialect == SOURCE_DIALECT:
        return statement.sql(dialect=SOURCE_DIALECT, comments=False)
    stripped: Any = statement.copy()  # transform() is typed to return Optional
    if dialect == "duckdb":
        stripped = stripped.transform(_duckdb_compression)
    stripped = stripped.transform(_strip_redshift_only)
    properties = stripped.args.get("properties")
    if isinstance(properties, exp.Properties) and not properties.expressions:
        stripped.set("properties", None)
    return stripped.sql(dialect=dialect, comments=False)


def parse(sql: str) -> list[exp.Expression]:
    """Parse Redshift SQL into statements (empty statements dropped)."""
    statements = sqlglot.parse(sql, read=SOURCE_DIALECT)
    return [cast(exp.Expression, stmt) for stmt in statements if stmt is not None]


def translate(sql: str, dialect: str) -> list[str]:
    """Redshift SQL text -> statements for ``dialect`` (a sqlglot dialect name)."""
    return [to_dialect(statement, dialect) for statement in parse(sql)]


@cache
def _parsed_file(name: str) -> tuple[exp.Expression, ...]:
    return tuple(parse((SQL_DIR / name).read_text(encoding="utf-8")))


def file_statements(name: str, dialect: str) -> list[str]:
    """The statements of ``flows/sql/<name>`` rendered for ``dialect``."""
    return [to_dialect(statement, dialect) for statement in _parsed_file(name)]


def schema_statements(dialect: str) -> list[str]:
    """Schemas, core tables and the model-output tables (all ``IF NOT EXISTS``)."""
    return [
        *file_statements("schemas.sql", dialect),
        *file_statements("core.sql", dialect),
        *file_statements("mart_tables.sql", dialect),
    ]


def view_names() -> list[str]:
    """Qualified names of the mart views, in creation (dependency) order."""
    return [statement.this.sql() for statement in _parsed_file("views.sql")]


def view_statements(dialect: str) -> list[str]:
    """Drop every view (reverse order) then create them all (in order)."""
    drops = [f"DROP VIEW IF EXISTS {name}" for name in reversed(view_names())]
    return [*drops, *file_statements("views.sql", dialect)]


@lru_cache(maxsize=1)
def core_tables() -> dict[str, tuple[CoreColumn, ...]]:
    """``core.<table>`` -> its declared columns, read from ``core.sql``."""
    tables: dict[str, tuple[CoreColumn, ...]] = {}
    for statement in _parsed_file("core.sql"):
        schema = statement.this
        columns = tuple(
            CoreColumn(
                name=column.name,
                type=column.args["kind"],
                not_null=any(
                    isinstance(constraint.args.get("kind"), exp.NotNullColumnConstraint)
                    for constraint in column.args.get("constraints") or []
                ),
            )
            for column in schema.expressions
            if isinstance(column, exp.ColumnDef)
        )
        tables[schema.this.sql()] = columns
    return tables


def add_column_statements(present: Mapping[str, Collection[str]], dialect: str) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for every column ``core.sql`` declares that an existing
    core table lacks: a warehouse created before the column was declared gets it
    (``CREATE TABLE IF NOT EXISTS`` leaves an existing table as it is).

    ``present`` maps ``core.<table>`` to the columns it has now; a table missing from it is
    new (its CREATE makes it whole). An added column is nullable whatever ``core.sql``
    says: a table with rows cannot take a NOT NULL column without a default (DuckDB takes
    none at all), and partitions loaded before keep NULL until they are loaded again. It
    is appended, so ``core.sql`` declares new columns last: a fresh and a migrated table
    then have the same column order. Redshift has no ``ADD COLUMN IF NOT EXISTS``, hence
    the comparison with ``present`` instead. Running it again adds nothing."""
    statements = []
    for statement in _parsed_file("core.sql"):
        schema = statement.this
        table = schema.this.sql()
        if table not in present:
            continue
        have = {name.lower() for name in present[table]}
        for column in schema.expressions:
            if not isinstance(column, exp.ColumnDef) or column.name.lower() in have:
                continue
            added = column.copy()
            added.set(
                "constraints",
                [
                    constraint
                    for constraint in added.args.get("constraints") or []
                    if not isinstance(constraint.args.get("kind"), exp.NotNullColumnConstraint)
                ],
            )
            sql = f"ALTER TABLE {table} ADD COLUMN {added.sql(dialect=SOURCE_DIALECT)}"
            statements += translate(sql, dialect)
    return statements
