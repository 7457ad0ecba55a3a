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

    source: str = Field(
        "", description="column name in the source file (default: the readable name)"
    )
    name: str = Field(pattern=SNAKE_CASE, description="readable snake_case name in trusted/")
    type: ColumnType
    required: bool = Field(True, description="the file must have this column")
    nullable: bool = Field(False, description="empty values are allowed")
    description: str = ""
    min: float | None = None
    max: float | None = None
    pattern: str | None = Field(None, description="regular expression every value must match")
    allowed: list[str | int | float] | None = Field(None, description="the only values allowed")

    @model_validator(mode="before")
    @classmethod
    def _source_defaults_to_name(cls, data: object) -> object:
        # A computed dataset (IPM-NM, POF aggregates) has no source column: it is its name.
        if isinstance(data, dict) and not data.get("source") and "name" in data:
            return {**data, "source": data["name"]}
        return data

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


class SheetColumn(_Strict):
    """A spreadsheet column found by its title in the header row."""

    title: str = Field(min_length=1, description="the title in the header row (any case)")
    name: str = Field(pattern=SNAKE_CASE)
    kind: Literal["code", "integer", "text"]
    digits: int | None = Field(None, ge=1, description="codes: zero-pad to this many digits")

    @model_validator(mode="after")
    def _codes_have_digits(self) -> SheetColumn:
        if (self.kind == "code") != (self.digits is not None):
            raise ValueError(f"column {self.title!r}: digits is for (and required by) codes")
        return self


class ReadSpec(_Strict):
    """Where the file is and how to read it."""

    location: str = Field(min_length=1, description="path, http(s) URL or '{source}/...'")
    format: Literal["csv", "fixed_width", "spreadsheet"] = "csv"
    encoding: str = "utf-8"
    separator: str = Field(",", min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."
    members: list[str] = Field(
        default_factory=list, description="fixed_width: the zip members read (layouts by stem)"
    )
    sheet: str | None = Field(None, description="spreadsheet: sheet name (any case)")
    header: list[SheetColumn] = Field(
        default_factory=list, description="spreadsheet: columns; the first one marks data rows"
    )

    @model_validator(mode="after")
    def _separator_is_not_decimal(self) -> ReadSpec:
        if self.separator == self.decimal:
            raise ValueError(f"separator and decimal mark are both {self.separator!r}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        if self.format == "fixed_width" and not self.members:
            raise ValueError("format fixed_width needs members (the zip's .txt files)")
        if self.format == "spreadsheet" and (not self.sheet or not self.header):
            raise ValueError("format spreadsheet needs sheet and header")
        return self


class ProductionSpec(_Strict):
    """The real publisher's address of a dataset and what reading it needs."""

    location: str = Field(pattern=r"^https://")
    format: Literal["csv", "fixed_width", "spreadsheet"]
    landing_page: str = Field(pattern=r"^https://")
    size: int | None = Field(None, gt=0, description="bytes; pins the published file")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    note: str = ""


class WarehouseSpec(_Strict):
    """The core table a dataset loads into (its DDL is in flows/sql/core.sql)."""

    table: str = Field(pattern=r"^core\.[a-z][a-z0-9_]*$")
    renames: dict[str, list[str]] = Field(
        default_factory=dict, description="core column -> trusted names it accepts"
    )


class LayoutField(_Strict):
    """One field of a fixed-width record: 1-based start and width, as IBGE documents them."""

    name: str = Field(min_length=1)
    start: int = Field(ge=1)
    width: int = Field(ge=1)
    type: Literal["string", "int64", "float64"]


class Layout(_Strict):
    """A fixed-width record: its length (without CRLF) and the fields Big D reads."""

    length: int = Field(ge=1)
    fields: list[LayoutField] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_fit(self) -> Layout:
        for item in self.fields:
            if item.start + item.width - 1 > self.length:
                raise ValueError(f"field {item.name} ends beyond the record ({self.length})")
        names = [item.name for item in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("layout repeats a field name")
        return self

    def field(self, name: str) -> LayoutField:
        return next(item for item in self.fields if item.name == name)


class CategoryCodes(_Strict):
    """One partner category: the POF product codes it covers, or why it has none."""

    tradutor: Literal["alimentacao", "aquisicao_alimentar"] | None = None
    # Group numbers have a different number of digits at each level of one tradutor, so a
    # group number alone says which level it is (1124: level 3, 206: level 2).
    groups: list[int] = Field(default_factory=list, description="tradutor groups, any level")
    exclude: list[int] = Field(
        default_factory=list, description="codes of these groups left to another category"
    )
    codes: list[int] = Field(default_factory=list, description="5-digit POF product codes")
    no_pof_equivalent: str | None = Field(None, description="why no code fits")

    @model_validator(mode="after")
    def _codes_or_reason(self) -> CategoryCodes:
        if bool(self.codes) == bool(self.no_pof_equivalent):
            raise ValueError("give either codes (with tradutor and groups) or a reason")
        if self.codes and not (self.tradutor and self.groups):
            raise ValueError("codes need the tradutor and groups they come from")
        if any(not 10_000 <= code <= 99_999 for code in self.codes):
            raise ValueError("POF product codes have 5 digits")
        return self


class CategoryMap(_Strict):
    """Partner categories -> POF product codes, derived from IBGE's tradutores."""

    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    categories: dict[str, CategoryCodes] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_code_has_one_category(self) -> CategoryMap:
        seen: dict[int, str] = {}
        for category, entry in self.categories.items():
            for code in entry.codes:
                if code in seen:
                    raise ValueError(f"code {code} is in both {seen[code]} and {category}")
                seen[code] = category
        return self

    @property
    def category_of_code(self) -> dict[int, str]:
        return {code: name for name, entry in self.categories.items() for code in entry.codes}


class DatasetEntry(_Strict):
    """One public dataset."""

    title: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1, description="publisher and publication")
    licence: str = Field(min_length=1)
    read: ReadSpec
    method: Literal["table", "population", "ipm_nm", "pof_food_spending"] = Field(
        "table", description="how the trusted table is built from what is read"
    )
    production: ProductionSpec | None = None
    warehouse: WarehouseSpec | None = None
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
    layouts: dict[str, Layout] = Field(default_factory=dict, description="by zip member stem")
    category_map: CategoryMap | None = None
    datasets: dict[str, DatasetEntry] = Field(min_length=1)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _dataset_names_are_snake_case(self) -> Catalog:
        bad = [name for name in self.datasets if not re.match(SNAKE_CASE, name)]
        if bad:
            raise ValueError(f"dataset names must be snake_case: {', '.join(bad)}")
        for name, entry in self.datasets.items():
            missing = [m for m in entry.read.members if member_stem(m) not in self.layouts]
            if missing:
                raise ValueError(f"{name}: no layout for member {', '.join(missing)}")
            if entry.method == "pof_food_spending" and self.category_map is None:
                raise ValueError(f"{name}: method pof_food_spending needs a category_map")
        return self

    def layout(self, member: str) -> Layout:
        return self.layouts[member_stem(member)]


def member_stem(member: str) -> str:
    """``MORADOR.txt`` -> ``MORADOR``: layouts are named as IBGE names the records."""
    return member.rsplit("/", 1)[-1].rsplit(".", 1)[0]


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
