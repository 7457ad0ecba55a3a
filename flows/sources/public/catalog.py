"""The public-data catalog: a validated model of ``flows/catalog/public.yaml``."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "catalog" / "public.yaml"
SNAKE_CASE = r"^[a-z][a-z0-9_]*$"

ColumnType = Literal["string", "int16", "int32", "int64", "float64", "bool", "date"]
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


class CatalogError(ValueError):
    """The catalog is malformed, or a run asks for something it does not describe."""


# ---- the catalog model ----------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One column: its name in the file, its readable name, type and checks."""

    source: str = Field(min_length=1, description="column name in the source file")
    name: str = Field(pattern=SNAKE_CASE, description="readable snake_case name in trusted/")
    type: ColumnType
    required: bool = Field(True, description="the file must have this column")
    nullable: bool = Field(False, description="empty values are allowed")
    description: str = ""
    min: float | None = None
    max: float | None = None
    pattern: str | None = Field(None, description="regular expression every value must match")
    allowed: list[str | int | float] | None = Field(None, description="the only values allowed")

    @model_validator(mode="after")
    def _checks_fit_type(self) -> ColumnSpec:
        numeric = self.type.startswith(("int", "float"))
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError(f"column {self.source!r}: min/max need a numeric type")
        if self.pattern is not None:
            if self.type != "string":
                raise ValueError(f"column {self.source!r}: pattern needs type string")
            re.compile(self.pattern)
        return self


class ReadSpec(_Strict):
    """Where the file is and how to read it."""

    location: str = Field(min_length=1, description="path, http(s) URL or '{source}/...'")
    format: Literal["csv", "fixed_width", "xlsx", "xls"] = "csv"
    encoding: str = "utf-8"
    separator: str = Field(",", min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."

    @model_validator(mode="after")
    def _separator_is_not_decimal(self) -> ReadSpec:
        if self.separator == self.decimal:
            raise ValueError(f"separator and decimal mark are both {self.separator!r}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        return self


class ProductionSpec(_Strict):
    """The real publisher's address of a dataset and what reading it needs."""

    location: str = Field(pattern=r"^https://")
    format: Literal["csv", "fixed_width", "xlsx", "xls", "zip"]
    landing_page: str = Field(pattern=r"^https://")
    note: str = ""


class DatasetEntry(_Strict):
    """One public dataset."""

    title: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1, description="publisher and publication")
    licence: str = Field(min_length=1)
    read: ReadSpec
    production: ProductionSpec | None = None
    columns: list[ColumnSpec] = Field(min_length=1)
    unique: list[str] = Field(default_factory=list, description="readable names forming a key")

    @model_validator(mode="after")
    def _names_are_unique(self) -> DatasetEntry:
        for attribute in ("source", "name"):
            seen = [getattr(column, attribute) for column in self.columns]
            duplicates = sorted({value for value in seen if seen.count(value) > 1})
            if duplicates:
                raise ValueError(f"columns repeat {attribute} {', '.join(duplicates)}")
        unknown = set(self.unique) - {column.name for column in self.columns}
        if unknown:
            raise ValueError(f"unique names unknown columns {', '.join(sorted(unknown))}")
        return self

    @property
    def rename_map(self) -> dict[str, str]:
        """Source column -> readable name."""
        return {column.source: column.name for column in self.columns}

    @property
    def arrow_schema(self) -> pa.Schema:
        """The typed schema of the trusted table."""
        return pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns]
        )


class Catalog(_Strict):
    """The public-data catalog file."""

    version: Literal[1]
    datasets: dict[str, DatasetEntry] = Field(min_length=1)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _dataset_names_are_snake_case(self) -> Catalog:
        bad = [name for name in self.datasets if not re.match(SNAKE_CASE, name)]
        if bad:
            raise ValueError(f"dataset names must be snake_case: {', '.join(bad)}")
        return self


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file (default: the one shipped with the package)."""
    catalog_path = Path(path) if path else DEFAULT_CATALOG
    try:
        document = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogError(f"cannot read catalog {catalog_path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CatalogError(f"catalog {catalog_path} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise CatalogError(f"catalog {catalog_path} must be a mapping with 'datasets'")
    try:
        return Catalog(**document, path=catalog_path.resolve())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise CatalogError(f"catalog {catalog_path}: {problems}") from None
