"""Public warehouse tables come from the catalog: a new dataset is an entry plus its DDL."""

from __future__ import annotations

import yaml

from flows.sources.public import load_catalog
from flows.warehouse.tables import PUBLIC_TABLES, public_tables


def test_the_shipped_catalog_gives_the_public_core_tables():
    assert {(spec.core, spec.source) for spec in PUBLIC_TABLES} == {
        ("core.pof_food_spending", "trusted/public/pof_food_spending"),
        ("core.poverty_index", "trusted/public/ipm_nm_uf"),
        ("core.population", "trusted/public/population_municipalities"),
    }
    assert all(spec.partition == "snapshot" for spec in PUBLIC_TABLES)


def test_a_new_dataset_with_a_warehouse_table_is_loaded_without_code(tmp_path):
    entry = {
        "title": "Beer prices",
        "source": "made up",
        "licence": "CC0",
        "read": {"location": "beer.csv"},
        "warehouse": {"table": "core.beer_prices", "renames": {"uf": ["state"]}},
        "columns": [{"source": "UF", "name": "state", "type": "string"}],
    }
    path = tmp_path / "catalog.yaml"
    document = {"version": 1, "datasets": {"beer_prices": entry, "no_table": {**entry}}}
    del document["datasets"]["no_table"]["warehouse"]
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    [spec] = public_tables(str(path))

    assert (spec.core, spec.source, spec.name) == (
        "core.beer_prices",
        "trusted/public/beer_prices",
        "beer_prices",
    )
    assert spec.source_names("uf") == ("state",)
    assert load_catalog(path).datasets["no_table"].warehouse is None
