"""The demo runs every stage end to end on embedded defaults, prints the warehouse's own
answers, and leaks nothing: no file outside its work folder, never its partner API key
(in the output or in any file), and no partner API left serving."""

from __future__ import annotations

import re

import duckdb
import httpx
import pytest

from flows import demo
from flows.demo import DEMO_RELEASE, PREVIEW_QUERIES


def _printed_in_order(printed: str, cells: list[str]) -> bool:
    """Some printed line holds every cell, left to right (a row of a rich table)."""
    pattern = re.compile(".*".join(re.escape(cell) for cell in cells))
    return any(pattern.search(line) for line in printed.splitlines())


@pytest.mark.integration
def test_demo_runs_every_stage_prints_the_views_answers_and_leaks_nothing(pipeline_run):
    """Reads the session's one run of the demo (``tests/pipeline_run.py``): run from
    another working directory, with every partner key it generated recorded."""
    printed, workdir, tmp_path = pipeline_run.printed, pipeline_run.workdir, pipeline_run.root
    elsewhere, keys = pipeline_run.cwd, pipeline_run.partner_keys

    # Every stage wrote its zone of the lake and reported one line.
    lake = workdir / "lake"
    for table in ("empresas", "estabelecimentos", "socios", "simples", "cnaes", "municipios"):
        assert list((lake / "trusted" / "cnpj" / DEMO_RELEASE / table).glob("*.parquet")), table
    assert list((lake / "trusted" / "partner" / "sales").glob("sale_date=*/*.parquet"))
    assert list((lake / "trusted" / "public").glob("*/data.parquet"))
    assert list((lake / "quarantine" / "cnpj" / DEMO_RELEASE).iterdir())
    for stage in ("cnpj", "public", "partner", "warehouse"):
        assert re.search(rf"^\W*{stage}\W", printed, re.MULTILINE), f"no line for {stage}"
    assert "public: ok " in printed and "; failed -" in printed
    assert f"release {DEMO_RELEASE}, tables " in printed

    # What it printed under each question is what the warehouse answers to it, and the
    # answers are not empty: partner sales joined registry establishments (customers).
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as warehouse:
        for view, column in (
            ("establishments_by_channel", "establishments"),
            ("customers_vs_prospects", "customers"),
            ("sales_by_category_month_uf", "sales"),
        ):
            total = warehouse.execute(f"SELECT SUM({column}) FROM mart.{view}").fetchone()[0]
            assert total > 0, f"mart.{view}.{column} sums to {total}"
        for title, query in PREVIEW_QUERIES.items():
            assert title in printed
            rows = warehouse.execute(query).fetchall()
            assert rows, f"the view behind {title!r} is empty"
            for row in rows:
                cells = [demo._cell(value) for value in row]
                assert _printed_in_order(printed, cells), (title, cells)
    assert str(workdir / "warehouse.duckdb") in printed

    # Nothing outside the work folder: not the working directory, not the default data dir.
    assert list(elsewhere.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cwd", "demo"]
    # The throw-away partner key is in no output and no file (raw zone, state, warehouse).
    assert keys, "the demo made no partner key"
    for key in keys:
        assert key not in printed
        for path in workdir.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path
    # The partner API stopped with the demo.
    url = re.search(r"Partner API serving the sample at (http://127\.0\.0\.1:\d+)", printed)
    assert url, "the demo did not say where the partner API was"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.group(1), timeout=5)
    assert (lake / "reports" / "index.html").exists()
    assert (lake / "reports" / "latest" / "infographic.html").exists()
    assert "reports/index.html" in printed
