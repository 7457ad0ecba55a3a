"""The infographic: sections from small frames, then the real notebook end to end."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from flows.reports import infographic as info
from flows.reports.run import report_record
from tests.analysis_outputs import potential_table, prospects_table


def test_sections_speak_portuguese_with_brazilian_numbers():
    establishments = pd.DataFrame({"channel": ["bar", "restaurant"], "establishments": [5, 1234]})
    assert "Restaurantes" in info.establishments_section(establishments)
    assert "1.234" in info.establishments_section(establishments)
    sales = pd.DataFrame(
        {
            "category": ["Cerveja", "Vinho", "Cerveja"],
            "sale_month": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"]),
            "uf": ["SP", "RJ", "SP"],
            "quantity": [10.0, 5.0, 7.0],
            "sales_value": [1234.56, 99.9, 1000.0],
        }
    )
    kpis = info.kpi_section(sales)
    assert "R$ 2.234,56" in kpis and "17 unidades vendidas" in kpis
    assert "01/2026" in info.monthly_section(sales, ["Cerveja", "Vinho"])
    assert ">SP<" in info.uf_sales_section(sales)
    potential = potential_table("run-1").to_pandas()
    section = info.potential_channel_section(potential, top_n=3)
    assert section.count("<tr>") == 4 and " a R$&nbsp;" in section  # no break after R$
    prospects = prospects_table("run-1", 5).to_pandas()
    assert "Bar do Zé 1" in info.prospects_section(prospects, top_n=2)
    validation = info.validation_section(
        {"window": {"start": "2025-11-01", "end": "2026-10-31"}, "headline": {"ensemble_r2": 0.6}}
    )
    assert "01/11/2025 a 31/10/2026" in validation and "0,60" in validation


@pytest.mark.integration
def test_the_infographic_notebook_renders_from_the_warehouse_and_analysis(render_infographic):
    lake, store, manifest = render_infographic(top_n=5)

    assert manifest.status == "succeeded", manifest.error
    assert manifest.headline["prospects_scored"] == 12
    folder = manifest.folder
    marketing = lake.read_bytes(f"{folder}/marketing.html").decode()
    for title in (
        "Estabelecimentos ativos por canal",
        "Vendas mensais por categoria",
        "Potencial previsto por UF",
        "Melhores prospects",
        "R$ ",
    ):
        assert title in marketing
    assert "analysis_dir" not in marketing  # no parameters cell for marketing
    assert lake.exists(f"{folder}/outputs/prospects.parquet")  # what bigd.prospects carries
    record = report_record(store, manifest)
    assert record.index.endswith("reports/index.html")
    assert json.loads(lake.read_bytes(f"{folder}/manifest.json"))["parameters"]["top_n"] == 5


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    import nbformat

    from flows.paths import notebook_path

    notebook = nbformat.read(notebook_path("infographic"), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    for secret_like in ("key", "password", "secret", "token", "warehouse", "://"):
        assert secret_like not in tagged[0].source.lower()


def test_papermill_sees_every_parameter_of_the_infographic():
    import papermill

    from flows.paths import notebook_path

    found = papermill.inspect_notebook(str(notebook_path("infographic")))
    assert set(found) == {"analysis_dir", "categories", "top_n"}
