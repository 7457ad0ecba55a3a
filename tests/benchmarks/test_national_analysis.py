"""The national-size analysis benchmark's inflated warehouse (``bench_analysis
--national-prospects``): the copies are new prospects, the customers and sales unchanged,
and the analysis reads them as it reads a release, compactly."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from benchmarks.national_analysis import ACTIVE_CHANNEL_SQL, COUNT_SQL, inflate
from flows.analysis.data import CATEGORICAL_COLUMNS, read_warehouse

pytestmark = [pytest.mark.integration]


def prospects_and_customers(path) -> tuple[int, int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        release = con.execute("SELECT MAX(release) FROM core.establishments").fetchone()[0]
        (prospects,) = con.execute(f"SELECT COUNT(*) {ACTIVE_CHANNEL_SQL}", [release]).fetchone()
        (distinct,) = con.execute(COUNT_SQL, [release]).fetchone()
        assert prospects == distinct  # every copy a new establishment
        (customers,) = con.execute("SELECT COUNT(*) FROM core.partner_establishments").fetchone()
        (sales,) = con.execute("SELECT COUNT(*) FROM core.sales").fetchone()
    return prospects, customers, sales


def test_inflating_the_release_adds_new_prospects_only(pipeline_run, tmp_path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.workdir / "warehouse.duckdb", path)
    before, customers, sales = prospects_and_customers(path)
    with duckdb.connect(str(path), read_only=True) as con:
        release = con.execute("SELECT MAX(release) FROM core.establishments").fetchone()[0]
    middle = before + 50  # a first round of copies (the benchmark's --reuse adds rounds)
    assert inflate(path, release, middle) == {"base_prospects": before, "prospects": middle}
    target = 2 * middle + 123  # not a multiple: the last copy is partial
    counts = inflate(path, release, target)
    assert counts == {"base_prospects": middle, "prospects": target}
    assert prospects_and_customers(path) == (target, customers, sales)
    with duckdb.connect(str(path), read_only=True) as con:
        hashes = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT cnpj_hash), COUNT(DISTINCT cnpj) "
            "FROM core.establishments WHERE release = ?",
            [release],
        ).fetchone()
    assert hashes[0] == hashes[1]  # every copy is a new establishment
    assert hashes[2] > hashes[0] * 0.9  # with its own CNPJ (a few collide by chance)
    assert inflate(path, release, target)["prospects"] == target  # enough already: no copy

    monkeypatch.setenv("BIGD_WAREHOUSE_URL", f"duckdb:///{path}")
    from flows.config import get_settings
    from flows.resources import warehouse_engine

    get_settings.cache_clear()
    engine = warehouse_engine()
    try:
        data = read_warehouse(engine, release=release)
    finally:
        engine.dispose()
        get_settings.cache_clear()
    frame = data.establishments
    assert (~frame["cnpj_hash"].isin(data.customers)).sum() == target
    for column in CATEGORICAL_COLUMNS:  # the registry frame holds its repeated labels once
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
    assert frame["started_on"].dtype.kind == "M"
