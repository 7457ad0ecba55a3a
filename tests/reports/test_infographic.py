"""The infographic: sections from small frames, then the real notebook end to end."""

from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.lake import Lake
from flows.reports import infographic as info
from flows.reports import marketing
from flows.reports.marketing import period_text
from flows.reports.prospects import AnalysisRun, place_name
from flows.reports.run import report_record
from tests.analysis_outputs import CATEGORIES, write_outputs


def test_sales_sections_speak_portuguese_per_month_for_the_chosen_categories():
    establishments = pd.DataFrame({"channel": ["bar", "restaurant"], "establishments": [5, 1234]})
    assert "Restaurantes" in info.establishments_section(establishments)
    assert "1.234" in info.establishments_section(establishments)
    sales = pd.DataFrame(
        {
            "category": ["Cerveja", "Vinho", "Cerveja", "Arroz"],
            "sale_month": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01", "2026-02-01"]),
            "uf": ["SP", "RJ", "SP", "MG"],
            "quantity": [10.0, 5.0, 8.0, 1.0],
            "sales_value": [1234.56, 99.9, 1000.0, 50.0],
        }
    )
    kpis = info.kpi_section(sales, ["Cerveja"])
    main, folded = kpis.split("<details", 1)
    # two months of sales: R$ 2.234,56 in total is R$ 1.117,28 per month
    assert "R$ 1.117,28 por mês" in main and "9 unidades por mês" in main
    assert "Vinho" not in main and "Vinho" in folded and "Outras 2 categorias" in folded
    assert info.others_text(1) == "Outra categoria"
    every = info.kpi_section(sales, None, shown=1)  # all categories: only the best one open
    assert every.split("<details", 1)[0].count("bigd-card-title") == 1
    assert every.count("bigd-card-title") == 3
    assert "01/01/2026 a 28/02/2026" in kpis  # the exact period, last day included
    assert "01/2026" in info.monthly_section(sales, ["Cerveja", "Vinho"])
    uf_tiles = info.uf_sales_section(sales, ["Vinho"])
    assert ">RJ<" in uf_tiles and ">50<" in uf_tiles  # R$ 99,90 over two months


def test_period_is_whole_months_and_places_lose_registry_capitals():
    assert period_text("2025-11", "2026-10").startswith("01/11/2025 a 31/10/2026")
    assert place_name("VILA DA SAUDE") == "Vila da Saude" and place_name(None) == "—"


@pytest.fixture
def analysis(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    people = write_outputs(lake, "analysis/run-1", run_id="run-1").people
    return people, AnalysisRun.read(lake, "analysis/run-1")


def test_shortlist_is_distinct_establishments_ranked_by_expected_revenue(analysis):
    people, run = analysis
    for categories in (None, ["Cerveja"], ["Vinho", "Arroz"]):
        ranked = run.top(categories, top_n=len(run.prospects)).rows  # every prospect
        assert ranked["cnpj_hash"].is_unique
        # independent: sum p × spend per prospect over the chosen categories
        chosen = categories or list(CATEGORIES)
        prospects = people.establishments.loc[~people.establishments.customer, "cnpj_hash"]
        scores = people.scores[
            people.scores.category.isin(chosen) & people.scores.cnpj_hash.isin(prospects)
        ]
        expected = (
            (scores.p_convert * scores.expected_spend)
            .groupby(scores.cnpj_hash)
            .sum()
            .reset_index(name="value")
            .sort_values(["value", "cnpj_hash"], ascending=[False, True])
        )
        assert list(ranked["cnpj_hash"]) == list(expected["cnpj_hash"])
        assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
        own = run.prospects.set_index("cnpj_hash")["likelihood"]  # not per category
        assert (ranked.set_index("cnpj_hash")["likelihood"] == own.loc[ranked.cnpj_hash]).all()
        for _, group in ranked.groupby("uf"):
            assert list(group["rank_in_uf"]) == list(range(1, len(group) + 1))
            assert group["expected_revenue"].is_monotonic_decreasing


def numbers_of(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td data-label="Nº">(\d+)</td>', html)]


def test_shortlist_page_numbers_rows_and_shows_only_allowed_identity(analysis):
    people, run = analysis
    html = marketing.shortlist_section(run, ["Cerveja"], top_n=10)
    overall = html.split("<details")[0]
    assert numbers_of(overall) == list(range(1, 11))
    assert html.count('<details class="bigd-uf"') == run.prospects.uf.nunique()
    for block in html.split('<details class="bigd-uf"')[1:]:
        numbers = numbers_of(block)
        assert numbers == list(range(1, len(numbers) + 1)) and numbers
    est = people.establishments
    for row in est[est.person_owned & ~est.customer].itertuples():
        assert row.cnpj_hash not in html  # no hash and no CNPJ: there is none to show
    shown_cnpjs = re.findall(r"CNPJ (\d\d\.\d{3}\.\d{3}/\d{4}-\d\d)", html)
    legal = {marketing_cnpj(c) for c in est.loc[~est.person_owned, "cnpj"]}
    assert shown_cnpjs and set(shown_cnpjs) <= legal
    assert "Empreendedor individual" in html and "dados pessoais" in html
    assert "COMERCIO" in html  # the registered name when there is no trade name
    assert "R$&nbsp;" in html and "R$/mês" in html and "alta" in html
    assert "nan" not in html.lower().replace("financ", "")


def marketing_cnpj(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def test_region_counts_are_establishments_never_establishment_category_rows(analysis):
    people, run = analysis
    est = people.establishments
    for categories in (None, ["Cerveja"]):
        regions = run.regions(categories)
        truth = est.groupby(["uf", "channel"])["cnpj_hash"].nunique()
        for row in regions.itertuples():
            assert row.establishments == truth[(row.uf, row.channel)]
            assert row.establishments <= est[est.uf == row.uf].cnpj_hash.nunique()
        assert regions["expected_revenue"].is_monotonic_decreasing
    one = run.regions(["Cerveja"])["expected_revenue"].sum()
    everything = run.regions(None)["expected_revenue"].sum()
    assert one < everything  # money follows the categories, counts do not
    html = marketing.regions_section(run, ["Cerveja"], top_n=5)
    assert numbers_of(html) == [1, 2, 3, 4, 5] and "R$ por mês" in html


def test_gains_sentence_and_plain_confidence(analysis):
    _, run = analysis
    gains = marketing.gains_section(run)
    reached = next(p for p in run.metrics["conversion"]["gains"] if p["share_called"] == 0.1)
    assert (
        f"{round(reached['customers_reached'] * 100)}% dos clientes e "
        f"{round(reached['revenue_reached'] * 100)}% da receita deles"
    ) in gains
    assert "<svg" in gains
    confidence = marketing.confidence_section(run)
    assert "Erro típico de R$&nbsp;412,35 por mês" in confidence
    for jargon in ("RMSE", "R²", "fold", "validação cruzada"):
        assert jargon not in confidence + gains


@pytest.mark.integration
def test_the_infographic_notebook_renders_from_the_warehouse_and_analysis(render_infographic):
    lake, store, manifest = render_infographic(top_n=5)

    assert manifest.status == "succeeded", manifest.error
    folder = manifest.folder
    scored = pq.read_metadata(
        lake.path(f"{folder}/outputs/prospects.parquet"), filesystem=lake.filesystem
    ).num_rows
    assert manifest.headline["prospects_scored"] == scored  # one row per establishment
    marketing_page = lake.read_bytes(f"{folder}/marketing.html").decode()
    for title in (
        "Quem ligar primeiro",
        "Receita esperada por região e canal (R$ por mês)",
        "Ligar para os 10% primeiros da lista",
        "Erro típico de R$",
        "Vendas por mês e categoria",
        "Estabelecimentos ativos por canal",
    ):
        assert title in marketing_page, title
    assert "analysis_dir" not in marketing_page  # no parameters cell for marketing
    assert lake.exists(f"{folder}/outputs/prospects.parquet")  # what bigd.prospects carries
    assert lake.exists(f"{folder}/outputs/model_card.md")
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
