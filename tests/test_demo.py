"""The demo runs every stage end to end on embedded defaults, and leaks nothing."""

from __future__ import annotations

import duckdb
import pytest

from flows.demo import DEMO_RELEASE, run_demo


@pytest.mark.integration
def test_demo_runs_every_stage_and_the_views_answer(prefect_harness, tmp_path, capsys):
    workdir = tmp_path / "demo"
    run_demo(workdir, establishments=2_500)

    lake = workdir / "lake"
    for table in ("empresas", "estabelecimentos", "socios", "simples", "cnaes", "municipios"):
        assert list((lake / "trusted" / "cnpj" / DEMO_RELEASE / table).glob("*.parquet")), table
    assert list((lake / "trusted" / "partner" / "sales").glob("sale_date=*/*.parquet"))
    assert list((lake / "trusted" / "public").glob("*/data.parquet"))
    assert list((lake / "quarantine" / "cnpj" / DEMO_RELEASE).iterdir())

    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as warehouse:
        by_channel = warehouse.execute(
            "SELECT SUM(establishments) FROM mart.establishments_by_channel"
        ).fetchone()[0]
        customers = warehouse.execute(
            "SELECT SUM(customers) FROM mart.customers_vs_prospects"
        ).fetchone()[0]
        sold = warehouse.execute(
            "SELECT SUM(sales) FROM mart.sales_by_category_month_uf"
        ).fetchone()[0]
    assert by_channel > 0
    assert customers > 0
    assert sold > 0

    printed = capsys.readouterr()
    assert "Active establishments per channel" in printed.err
    assert str(workdir / "warehouse.duckdb") in printed.err
    assert (lake / "reports" / "index.html").exists()
    assert (lake / "reports" / "latest" / "infographic.html").exists()
    assert "reports/index.html" in printed.err
