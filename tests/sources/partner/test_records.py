"""The partner's records: strict models, reasons without values, duplicates, Arrow types."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from flows.sources.partner.records import SCHEMAS, to_arrow, validate_records
from tests.partner_data import CATEGORIES, CNPJS, DAYS, sales

D1, D2 = (dt.date.fromisoformat(day) for day in DAYS[:2])


def test_models_are_strict_and_reasons_name_fields_not_values():
    good = sales()[0]
    bad = [
        {**good, "id": "1"},
        {**good, "cnpj": "11222333000100"},
        {**good, "idCategory": 2},
        {**good, "saleDate": "2026-02-30T10:00:00"},
        {**good, "value": -1.0},
        {**good, "amount": 1.5},
        {**good, "category": {**good["category"], "isActive": "true"}},
        "not a record",
    ]
    validated = validate_records("Sale", [good, *bad, good])
    assert [r.id for r in validated.records] == [good["id"]]
    assert validated.duplicates == 1
    assert [r.position for r in validated.rejected] == list(range(1, 9))
    reasons = [r.reason for r in validated.rejected]
    assert reasons[0].startswith("id: ") and reasons[1].startswith("cnpj: ")
    assert "category.id differs from idCategory" in reasons[2]
    assert reasons[3].startswith("saleDate: ") and reasons[4].startswith("value: ")
    assert "11222333000100" not in " ".join(reasons) and "2026-02-30" not in " ".join(reasons)
    # Fetched for another day: it would sit in two partitions, so a re-run could not replace it.
    [wrong_day] = validate_records("Sale", [good], sale_day=D2).rejected
    assert wrong_day.reason == f"saleDate: falls on {D1}, not {D2}"


def test_a_formatted_cnpj_is_stored_unformatted_and_extra_fields_are_ignored():
    formatted = f"{CNPJS[0][:2]}.{CNPJS[0][2:5]}.{CNPJS[0][5:8]}/{CNPJS[0][8:12]}-{CNPJS[0][12:]}"
    validated = validate_records("Establishment", [{"id": 1, "cnpj": formatted, "new": 1}])
    assert [record.cnpj for record in validated.records] == [CNPJS[0]]
    assert validated.rejected == []


def test_the_first_record_of_an_id_wins():
    first, later = dict(CATEGORIES[0]), {**CATEGORIES[0], "name": "Outra"}
    validated = validate_records("Category", [first, later, CATEGORIES[1]])
    assert [(record.id, record.name) for record in validated.records] == [
        (1, "Cerveja"),
        (2, "Vinho"),
    ]
    assert validated.duplicates == 1


def test_a_time_zone_in_sale_date_is_moved_to_utc():
    sale = {**sales()[0], "saleDate": f"{DAYS[0]}T23:30:00-03:00"}  # 02:30 UTC the next day
    [record] = validate_records("Sale", [sale]).records
    assert record.sale_timestamp == dt.datetime(2026, 3, 15, 2, 30)


def test_to_arrow_types_each_table_as_its_schema():
    for table, rows in [("Category", CATEGORIES), ("Sale", sales()[:3])]:
        arrow = to_arrow(table, validate_records(table, rows).records)
        assert arrow.schema == SCHEMAS[table] and arrow.num_rows == len(rows)
    sales_table = to_arrow("Sale", validate_records("Sale", sales()[:2]).records)
    assert sales_table["sale_date"].to_pylist() == [D1, D1]
    assert sales_table.schema.field("sale_timestamp").type == pa.timestamp("ms")
    empty = to_arrow("Establishment", [])
    assert empty.num_rows == 0 and empty.schema == SCHEMAS["Establishment"]
