"""The partner API's records: pydantic models, record-by-record validation, Arrow tables.

Models are strict (no ``"5"`` for an id, no ``"true"`` for a flag) because the
partner's JSON has real types and a coerced value would hide a broken export.
Unknown extra fields are ignored so a new field on the partner's side does not
quarantine every record. Rejection reasons name the field and the rule, never the
value, so they can be logged and kept next to the record's position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.identifiers import is_valid_cnpj, normalize_cnpj
from flows.sources.partner.tables import CATEGORIES, ESTABLISHMENTS, SALES


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, populate_by_name=True, extra="ignore")

    id: int = Field(gt=0)


def _cnpj(value: object) -> object:
    if isinstance(value, str):
        if not is_valid_cnpj(value):
            raise ValueError("not a valid CNPJ (length or check digits)")
        return normalize_cnpj(value)
    return value


class CategoryRecord(_Record):
    """``{"id", "name", "isActive"}``."""

    name: str = Field(min_length=1)
    is_active: bool = Field(alias="isActive")


class EstablishmentRecord(_Record):
    """``{"id", "cnpj"}`` with a valid 14-character CNPJ (stored unformatted)."""

    cnpj: str

    _valid_cnpj = field_validator("cnpj", mode="before")(_cnpj)


class SaleRecord(_Record):
    """``{"id", "cnpj", "idCategory", "category", "saleDate", "value", "amount"}``."""

    cnpj: str
    id_category: int = Field(alias="idCategory", gt=0)
    category: CategoryRecord
    sale_timestamp: dt.datetime = Field(alias="saleDate")
    value: float = Field(ge=0, allow_inf_nan=False)
    amount: int = Field(ge=0)

    _valid_cnpj = field_validator("cnpj", mode="before")(_cnpj)

    @field_validator("sale_timestamp", mode="before")
    @classmethod
    def _iso_timestamp(cls, value: object) -> object:
        # Strict mode takes no strings for datetimes; the partner sends ISO text, nothing else.
        if not isinstance(value, str):
            raise ValueError("saleDate must be an ISO date-time string")
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("saleDate is not an ISO date-time") from None
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp

    @model_validator(mode="after")
    def _category_matches(self) -> SaleRecord:
        if self.category.id != self.id_category:
            raise ValueError("category.id differs from idCategory")
        return self


MODELS: dict[str, type[_Record]] = {
    CATEGORIES.api: CategoryRecord,
    ESTABLISHMENTS.api: EstablishmentRecord,
    SALES.api: SaleRecord,
}


@dataclass(frozen=True)
class Rejection:
    """A record that failed validation: its position in the response, its id if any, why."""

    position: int
    record_id: object
    reason: str


@dataclass
class Validated:
    """Valid records (first of each id), rejected ones and how many duplicates were dropped."""

    records: list = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0


def _reason(error: ValidationError) -> str:
    problems = error.errors(include_input=False, include_url=False, include_context=False)
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'record'}: {problem['msg']}"
        for problem in problems
    )


def validate_records(
    table: str, rows: Iterable[object], sale_day: dt.date | None = None
) -> Validated:
    """Validate each record of ``table``; keep the first record of each id.

    For sales fetched for one ``sale_day``, a sale dated another day is rejected: it
    would otherwise land in two day partitions and a re-run could not replace it exactly.
    """
    model = MODELS[table]
    result = Validated()
    seen: set[int] = set()
    for position, row in enumerate(rows):
        try:
            record = model.model_validate(row)
        except ValidationError as error:
            record_id = row.get("id") if isinstance(row, dict) else None
            result.rejected.append(Rejection(position, record_id, _reason(error)))
            continue
        if (
            sale_day is not None
            and isinstance(record, SaleRecord)
            and (record.sale_timestamp.date() != sale_day)
        ):
            reason = f"saleDate: falls on {record.sale_timestamp.date()}, not {sale_day}"
            result.rejected.append(Rejection(position, record.id, reason))
            continue
        if record.id in seen:
            result.duplicates += 1
            continue
        seen.add(record.id)
        result.records.append(record)
    return result


SCHEMAS = {
    CATEGORIES.api: pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("is_active", pa.bool_())]
    ),
    ESTABLISHMENTS.api: pa.schema([("id", pa.int64()), ("cnpj", pa.string())]),
    SALES.api: pa.schema(
        [
            ("id", pa.int64()),
            ("cnpj", pa.string()),
            ("id_category", pa.int64()),
            ("sale_timestamp", pa.timestamp("ms")),
            ("sale_date", pa.date32()),
            ("value", pa.float64()),
            ("amount", pa.int64()),
        ]
    ),
}


def to_arrow(table: str, records: list) -> pa.Table:
    """Typed Arrow table of valid records, columns named as the scrub policy declares them."""
    schema = SCHEMAS[table]
    columns: dict[str, list] = {name: [] for name in schema.names}
    for record in records:
        for name in schema.names:
            if name == "sale_date":
                columns[name].append(record.sale_timestamp.date())
            else:
                columns[name].append(getattr(record, name))
    return pa.table([pa.array(columns[f.name], f.type) for f in schema], schema=schema)
