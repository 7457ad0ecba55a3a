"""The loader reads what the CNPJ writer's ``_SUCCESS.json`` manifests list, nothing else.

Each case reproduced on the loader that listed files: a release whose part was deleted
loaded with exit 0 and fewer rows; a stray Parquet file was loaded too; an empty or
mistyped lake loaded only the municipality crosswalk and exited 0.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from flows import layout
from flows.lake import Lake
from flows.sources.cnpj.ingest import scrub_with_policy
from flows.sources.cnpj.release import run_release
from flows.warehouse import engine_for, load
from flows.warehouse.duckdb import DuckDBLoader
from flows.warehouse.tables import TrustedDataError
from tests.cnpj_fixtures import write_release

RELEASE = "2026-05"
TABLE = f"trusted/cnpj/{RELEASE}/estabelecimentos"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A release as the real CNPJ sequence publishes it (scrubbed, with manifests)."""
    root = tmp_path_factory.mktemp("published")
    write_release(root / "src", rows_per_file=40)
    lake = Lake.from_url(str(root / "lake"))
    scrubber = scrub_with_policy(b"k" * 32)
    run_release(lake, RELEASE, str(root / "src"), scrubber, root / "work", 0.001)
    return root / "lake"


@pytest.fixture
def lake(published, tmp_path) -> Lake:
    """A private copy of the published lake, for a test to damage."""
    import shutil

    shutil.copytree(published, tmp_path / "lake")
    return Lake.from_url(str(tmp_path / "lake"))


def duckdb(tmp_path):
    return engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")


def loaded_establishments(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM core.establishments").scalar_one()


def test_a_published_release_loads_and_reconciles_against_its_manifest(tmp_path, lake):
    engine = duckdb(tmp_path)
    result = load(engine, lake, DuckDBLoader())
    manifest = layout.read_manifest(lake, TABLE)
    (row,) = [r for r in result.reconciliation if r.table == "core.establishments"]
    assert row.trusted_rows == manifest["rows"] == 80 == row.loaded_rows
    assert loaded_establishments(engine) == 80


def test_a_part_listed_by_the_manifest_but_missing_fails_naming_it(tmp_path, lake):
    manifest = layout.read_manifest(lake, TABLE)
    lost = manifest["parts"][-1]["key"]
    lake.delete(f"{TABLE}/{lost}")
    engine = duckdb(tmp_path)
    with pytest.raises(TrustedDataError, match=rf"lists {lost}, which is not in the lake"):
        load(engine, lake, DuckDBLoader())


def test_a_parquet_file_no_manifest_lists_is_not_loaded(tmp_path, lake):
    stray = pq.read_table(lake.path(f"{TABLE}/part-00000.parquet"))
    pq.write_table(stray, lake.path(f"{TABLE}/part-09999.parquet"))  # e.g. a leftover copy
    engine = duckdb(tmp_path)
    load(engine, lake, DuckDBLoader())
    assert loaded_establishments(engine) == 80


def test_a_part_with_other_rows_than_its_manifest_says_fails(tmp_path, lake):
    key = f"{TABLE}/part-00000.parquet"
    table = pq.read_table(lake.path(key))
    pq.write_table(table.slice(0, 3), lake.path(key))
    with pytest.raises(TrustedDataError, match=r"part-00000\.parquet holds 3 rows"):
        load(duckdb(tmp_path), lake, DuckDBLoader())


@pytest.mark.parametrize("where", ["empty", "mistyped"])
def test_a_lake_without_a_release_fails_the_load(tmp_path, published, where):
    # "mistyped": BIGD_LAKE names the folder above the lake, which holds lake/trusted/...
    root = tmp_path / "empty" if where == "empty" else published.parent
    with pytest.raises(TrustedDataError, match="holds no published CNPJ release"):
        load(duckdb(tmp_path), Lake.from_url(str(root)), DuckDBLoader())


def test_a_release_without_its_manifest_is_not_loaded(tmp_path, lake):
    lake.delete(layout.manifest_key(f"trusted/cnpj/{RELEASE}"))
    with pytest.raises(TrustedDataError, match=r"no published CNPJ release 2026-05"):
        load(duckdb(tmp_path), lake, DuckDBLoader(), RELEASE)
    release_manifest = {"release": RELEASE, "tables": {}}
    lake.write_bytes(
        layout.manifest_key(f"trusted/cnpj/{RELEASE}"), json.dumps(release_manifest).encode()
    )
    with pytest.raises(TrustedDataError, match="no trusted establishments"):
        load(duckdb(tmp_path), lake, DuckDBLoader(), RELEASE)
