"""The marketing shortlist from DuckDB over the Parquet files (``AnalysisRun.top``) is the
old whole-file pandas ranking, cut to what the page shows: same rows, ranks and per-UF
totals, and the same HTML."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.analysis import outputs
from flows.lake import Lake
from flows.reports import marketing
from flows.reports.formatting import brl, inteiro
from flows.reports.prospects import MONEY, PROSPECT_CATEGORIES, PROSPECTS, AnalysisRun
from tests.analysis_outputs import population, tables, write_outputs

CHOICES = (None, ["Cerveja"], ["Vinho", "Arroz"])


def old_shortlist(run: AnalysisRun, categories: list[str] | None) -> pd.DataFrame:
    """The ranking the report used before: every prospect in pandas (the oracle)."""
    chosen = run.chosen(categories)
    frame = pq.read_table(run.lake.path(f"{run.folder}/{PROSPECTS}")).to_pandas()
    if set(chosen) != set(run.categories) and run.lake.exists(
        f"{run.folder}/{PROSPECT_CATEGORIES}"
    ):
        scores = pq.read_table(
            run.lake.path(f"{run.folder}/{PROSPECT_CATEGORIES}"),
            columns=["cnpj_hash", *MONEY],
            filters=[("category", "in", list(chosen))],
        ).to_pandas()
        totals = scores.groupby("cnpj_hash")[list(MONEY)].sum()
        frame = frame.drop(columns=list(totals.columns)).join(totals, on="cnpj_hash", how="inner")
    frame = frame.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
    frame = frame.reset_index(drop=True)
    frame["rank"] = range(1, len(frame) + 1)
    frame["rank_in_uf"] = frame.groupby("uf").cumcount() + 1
    return frame


def old_section(run: AnalysisRun, categories: list[str] | None, top_n: int) -> str:
    """``marketing.shortlist_section`` as it was, over the whole ranking."""
    ranked = old_shortlist(run, categories)
    if ranked.empty:
        return marketing.note("Nenhum prospect pontuado nesta análise.")
    parts = [
        marketing.note(
            f"{inteiro(len(ranked))} estabelecimentos que ainda não compram do parceiro, "
            "numerados pela receita mensal esperada (chance de virar cliente × quanto "
            "compraria por mês). "
            + marketing.SOURCE_MODEL.format(run=run.metrics.get("run_id", "?"))
        ),
        marketing._shortlist_table(ranked.head(top_n), "rank"),
    ]
    per_uf = ranked.groupby("uf")["expected_revenue"].sum().sort_values(ascending=False)
    parts += [
        '<details class="bigd-more bigd-ufs"><summary>Por UF: os melhores prospects de '
        f"cada uma das {inteiro(len(per_uf))} UFs</summary>",
        marketing.note(
            "Abra uma UF para ver os melhores prospects dela, numerados dentro da UF; ao lado, "
            "quantos prospects ela tem e a receita esperada de todos eles."
        ),
    ]
    for uf in per_uf.index:
        rows = ranked[ranked["uf"] == uf]
        parts.append(
            f'<details class="bigd-uf" data-uf="{escape(str(uf))}"><summary>{escape(str(uf))}: '
            f"{inteiro(len(rows))} prospects · {marketing.cell(brl(per_uf[uf]))} por mês"
            f"</summary>{marketing._shortlist_table(rows.head(top_n), 'rank_in_uf')}</details>"
        )
    parts += ["</details>", marketing.note(marketing.PERSONAL_DATA_NOTE)]
    return "".join(parts)


@pytest.fixture
def awkward(tmp_path) -> AnalysisRun:
    """A run whose prospects tie on expected revenue (overall, within a UF and over a
    category subset), one without a UF and one without an expected revenue."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    folder = "analysis/awkward"
    write_outputs(lake, folder, run_id="run-a")
    people = population()
    written = tables("run-a", people)
    prospects = written[outputs.PROSPECTS_FILE].to_pandas()
    scores = written[outputs.PROSPECT_CATEGORIES_FILE].to_pandas()
    hashes = list(prospects.sort_values("cnpj_hash").cnpj_hash)
    tied = hashes[:6]  # the same revenue for six (some in one UF, some not) near the top
    best = float(prospects.expected_revenue.max())
    prospects.loc[prospects.cnpj_hash.isin(tied), "expected_revenue"] = best
    prospects.loc[prospects.cnpj_hash.isin(tied[:2]), "uf"] = prospects.uf.iloc[0]
    prospects.loc[prospects.cnpj_hash == hashes[6], "uf"] = None  # no UF, ranked first
    prospects.loc[prospects.cnpj_hash == hashes[6], "expected_revenue"] = best * 2
    prospects.loc[prospects.cnpj_hash == hashes[7], "uf"] = None  # no UF, further down
    prospects.loc[prospects.cnpj_hash == hashes[8], "expected_revenue"] = np.nan  # last
    cerveja = scores.category == "Cerveja"
    scores.loc[scores.cnpj_hash.isin(hashes[9:15]), "expected_revenue"] = 5000.0  # ties
    scores = scores[~(cerveja & (scores.cnpj_hash == hashes[15]))]  # drops out of Cerveja
    for name, frame, schema in (
        (PROSPECTS, prospects, outputs.PROSPECTS_SCHEMA),
        (PROSPECT_CATEGORIES, scores, outputs.PROSPECT_CATEGORIES_SCHEMA),
    ):
        table = outputs.to_table(frame, schema, "run-a", prospects.scored_at.iloc[0], "ensemble")
        pq.write_table(table, lake.path(f"{folder}/{name}"))
    return AnalysisRun.read(lake, folder)


def test_top_is_the_whole_ranking_cut_to_what_the_page_shows(awkward):
    run = awkward
    for categories in CHOICES:
        old = old_shortlist(run, categories)
        assert old["uf"].isna().any() and old["expected_revenue"].duplicated().any()
        for top_n in (1, 3, 10, 1000):
            top = run.top(categories, top_n)
            shown = old[(old["rank"] <= top_n) | (old["rank_in_uf"] <= top_n)]
            if shown["rank_in_uf"].notna().all():  # float in the old frame for a NaN not shown
                shown = shown.astype({"rank_in_uf": "int64"})
            pd.testing.assert_frame_equal(
                top.rows.reset_index(drop=True), shown.reset_index(drop=True)
            )
            assert top.total == len(old)
            per_uf = old.groupby("uf")["expected_revenue"].agg(["size", "sum"])
            assert list(top.per_uf.index) == list(per_uf.index)
            assert list(top.per_uf["prospects"]) == list(per_uf["size"])
            assert np.allclose(top.per_uf["expected_revenue"], per_uf["sum"], rtol=1e-12)


def test_marketing_section_is_unchanged(awkward, tmp_path):
    lake = Lake.from_url(str(tmp_path / "plain"))
    write_outputs(lake, "analysis/run-1", run_id="run-1")
    plain = AnalysisRun.read(lake, "analysis/run-1")
    for run in (plain, awkward):
        for categories in CHOICES:
            for top_n in (3, 20):
                expected = old_section(run, categories, top_n)
                assert marketing.shortlist_section(run, categories, top_n) == expected


def test_prospects_are_not_read_whole_by_the_marketing_page(awkward, monkeypatch):
    read_table = pq.read_table

    def guarded(source, *args, **kwargs):
        assert not str(source).endswith(PROSPECTS), "prospects.parquet read whole"
        return read_table(source, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", guarded)
    run = AnalysisRun.read(awkward.lake, awkward.folder)
    assert "bigd-uf" in marketing.shortlist_section(run, ["Cerveja"], 5)
    assert "bigd-uf" in marketing.shortlist_section(run, None, 5)
