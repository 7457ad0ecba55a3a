"""The public-data catalog file and its model: every entry complete, bad catalogs refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flows.sources.public import CatalogError, load_catalog, plan
from flows.sources.public.catalog import DEFAULT_CATALOG
from flows.sources.public.ingest import resolve_location


def _minimal_entry(**changes: object) -> dict:
    entry = {
        "title": "A table",
        "source": "IBGE",
        "licence": "open",
        "read": {"location": "table.csv", "encoding": "utf-8", "separator": ";", "decimal": ","},
        "columns": [{"source": "COD", "name": "code", "type": "string"}],
    }
    entry.update(changes)
    return entry


def _write_catalog(folder: Path, datasets: dict) -> Path:
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "datasets": datasets}), encoding="utf-8")
    return path


def test_shipped_catalog_validates_and_every_entry_is_complete():
    catalog = load_catalog()
    assert set(catalog.datasets) == {"pof_food_spending", "ipm_nm_uf", "population_municipalities"}
    for name, entry in catalog.datasets.items():
        assert entry.title and entry.source and entry.licence, name
        assert entry.read.location and entry.read.encoding and entry.read.separator, name
        assert entry.read.decimal in {".", ","}, name
        assert entry.columns and all(c.source and c.type for c in entry.columns), name
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c.name) for c in entry.columns), name
        # Production addresses are the publisher's, and the format says what reading needs.
        assert entry.production is not None, name
        assert entry.production.location.startswith("https://ftp.ibge.gov.br/"), name
        assert "ibge.gov.br" in entry.production.landing_page, name


def test_shipped_catalog_reads_ibge_formats_and_pins_the_microdata():
    catalog = load_catalog()
    pof, ipm, population = (
        catalog.datasets["pof_food_spending"],
        catalog.datasets["ipm_nm_uf"],
        catalog.datasets["population_municipalities"],
    )
    assert (pof.read.format, pof.method) == ("fixed_width", "pof_food_spending")
    assert (ipm.read.format, ipm.method) == ("fixed_width", "ipm_nm")
    assert (population.read.format, population.method) == ("spreadsheet", "population")
    assert ipm.read.members == ["MORADOR_QUALI_VIDA.txt"]
    assert {"CADERNETA_COLETIVA.txt", "DESPESA_INDIVIDUAL.txt", "MORADOR.txt"} == set(
        pof.read.members
    )
    # One pinned download serves both POF datasets.
    assert pof.production == ipm.production
    assert (pof.production.size, pof.production.sha256) == (
        146_294_013,
        "f5b71f85452345e6e82caee15c70578c948981d8a8e5f99bd90ec60fac5b7932",
    )
    # The published positions (1-based start, width).
    assert catalog.layouts["MORADOR_QUALI_VIDA"].field("CONTAGEM_PONDERADA").start == 22
    assert catalog.layouts["MORADOR_QUALI_VIDA"].field("PESO_FINAL").start == 176
    assert catalog.layouts["CADERNETA_COLETIVA"].length == 138
    assert catalog.layouts["DESPESA_INDIVIDUAL"].field("V9011").start == 47
    assert catalog.layouts["MORADOR"].field("PESO_FINAL").width == 14
    assert [c.name for c in pof.columns] == [
        "uf_code",
        "uf",
        "category",
        "monthly_spending_per_family_brl",
        "families_weighted",
        "records",
    ]
    assert [c.name for c in ipm.columns] == ["uf_code", "uf", "period", "ipm_nm", "poor_share"]
    assert [c.name for c in population.columns] == [
        "ibge_code",
        "uf",
        "name",
        "population",
        "reference_year",
    ]


def test_a_layout_field_beyond_the_record_is_refused(tmp_path):
    document = {
        "version": 1,
        "layouts": {"X": {"length": 10, "fields": [{"name": "A", "start": 9, "width": 3,
                                                       "type": "string"}]}},
        "datasets": {"my_table": _minimal_entry()},
    }  # fmt: skip
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(CatalogError, match="field A ends beyond the record"):
        load_catalog(path)


def test_a_fixed_width_member_needs_a_layout(tmp_path):
    read = {"location": "x.zip", "format": "fixed_width", "members": ["NOPE.txt"]}
    path = _write_catalog(tmp_path, {"my_table": _minimal_entry(read=read, method="ipm_nm")})
    with pytest.raises(CatalogError, match=r"no layout for member NOPE\.txt"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"licence": None}, "licence"),
        ({"columns": [{"source": "COD", "name": "Código", "type": "string"}]}, "name"),
        ({"columns": [{"source": "COD", "name": "code", "type": "text"}]}, "type"),
        (
            {
                "columns": [
                    {"source": "A", "name": "code", "type": "string"},
                    {"source": "B", "name": "code", "type": "int64"},
                ]
            },
            "repeat name code",
        ),
        ({"unique": ["nope"]}, "unknown columns nope"),
        ({"read": {"location": "x.csv", "separator": ",", "decimal": ","}}, "separator"),
        ({"read": {"location": "x.csv", "encoding": "klingon"}}, "klingon"),
        ({"columns": [{"source": "A", "name": "a", "type": "string", "min": 0}]}, "numeric"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_malformed_entry_is_refused_naming_the_field(tmp_path, change, expected):
    entry = {k: v for k, v in _minimal_entry(**change).items() if v is not None}
    path = _write_catalog(tmp_path, {"my_table": entry})
    with pytest.raises(CatalogError, match=re.escape(expected)):
        load_catalog(path)


def test_unreadable_or_empty_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(tmp_path / "missing.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(CatalogError, match="mapping"):
        load_catalog(tmp_path / "empty.yaml")
    with pytest.raises(CatalogError, match="snake_case"):
        load_catalog(_write_catalog(tmp_path, {"My-Table": _minimal_entry()}))


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(CatalogError, match=r"unknown dataset 'beer'.*ipm_nm_uf"):
        plan(load_catalog(), "beer", source="/somewhere")


def test_locations_resolve_from_source_or_catalog_folder(tmp_path):
    assert (
        resolve_location("{source}/public/a.csv", "http://127.0.0.1:9/", None)
        == "http://127.0.0.1:9/public/a.csv"
    )
    assert resolve_location("{source}/public/a.csv", "/data/rel", None) == "/data/rel/public/a.csv"
    assert resolve_location("a.csv", None, tmp_path) == str(tmp_path / "a.csv")
    assert resolve_location("https://x.org/a.csv", None, tmp_path) == "https://x.org/a.csv"
    with pytest.raises(CatalogError, match="needs --source"):
        resolve_location("{source}/a.csv", None, tmp_path)
    with pytest.raises(CatalogError, match="unknown placeholder"):
        resolve_location("{release}/a.csv", "/x", tmp_path)


def test_default_catalog_is_the_shipped_file():
    assert DEFAULT_CATALOG.is_file()
    assert DEFAULT_CATALOG.parent.name == "catalog"
