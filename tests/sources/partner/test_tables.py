"""The partner's table map is the one spelling every other part uses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flows import layout
from flows.purge import PARTNER_RAW_PREFIX
from flows.scrub import load_policy
from flows.sources.partner import tables
from flows.sources.partner.records import MODELS, SCHEMAS
from flows.warehouse.tables import PARTNER_TABLES

CORE_SQL = Path(__file__).parents[3] / "flows" / "sql" / "core.sql"


def test_the_warehouse_loads_what_the_map_names():
    assert [(spec.core, spec.source, spec.partition) for spec in PARTNER_TABLES] == [
        ("core.categories", "trusted/partner/categories", "snapshot"),
        ("core.partner_establishments", "trusted/partner/establishments", "snapshot"),
        ("core.sales", "trusted/partner/sales", "sale_date"),
    ]
    ddl = CORE_SQL.read_text()
    for table in tables.TABLES:
        assert f"CREATE TABLE IF NOT EXISTS {table.core} (" in ddl


def test_the_purge_prefix_is_the_raw_zone_of_every_table():
    assert PARTNER_RAW_PREFIX == tables.RAW_PREFIX == "raw/partner/"
    day = dt.date(2026, 11, 30)
    for table in tables.TABLES:
        assert layout.partner_raw_key(table.lake, day, table.lake, "run").startswith(
            PARTNER_RAW_PREFIX
        )


def test_every_api_table_has_a_model_a_schema_and_a_scrub_policy():
    assert tables.API_NAMES == ("Category", "Establishment", "Sale")
    assert set(MODELS) == set(SCHEMAS) == set(tables.API_NAMES)
    declared = load_policy().datasets
    assert {table.dataset for table in tables.TABLES} <= set(declared)
