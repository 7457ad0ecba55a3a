"""Scoring, aggregation, the output files and the model card on small frames."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.analysis import outputs, results, scoring, study
from flows.analysis.model_card import model_label
from flows.analysis.models import MODEL_NAMES, ModelSizes
from tests.analysis.small_data import warehouse_data
from tests.portuguese import english_words, leftovers

SMALL = ModelSizes(
    lightgbm_trees=30, forest_trees=10, forest_depth=6, forest_max_samples=500, conversion_trees=30
)


def test_interval_factors_cover_80_percent_of_the_ratios():
    predicted = np.full(1000, 100.0)
    observed = predicted * np.exp(np.linspace(-1, 1, 1000))
    low, high = scoring.interval_factors(observed, predicted)
    assert low == pytest.approx(np.exp(-0.8), rel=0.01)
    assert high == pytest.approx(np.exp(0.8), rel=0.01)
    inside = (observed >= predicted * low) & (observed <= predicted * high)
    assert inside.mean() == pytest.approx(0.8, abs=0.01)


def _frame(schema: pa.Schema) -> pa.Table:
    return pa.table({name: [] for name in schema.names}, schema=schema)


def test_read_outputs_checks_files_keys_and_schemas(tmp_path):
    with pytest.raises(outputs.OutputError, match="missing output files"):
        outputs.read_outputs(tmp_path)
    for name, schema in outputs.TABLE_SCHEMAS.items():
        outputs.write_table(tmp_path, name, _frame(schema))
    metrics = {key: None for key in outputs.METRICS_KEYS}
    outputs.write_metrics(tmp_path, metrics)
    (tmp_path / outputs.MODEL_CARD_FILE).write_text("# card")
    read = outputs.read_outputs(tmp_path)
    assert read["metrics"] == metrics and read["model_card"] == "# card"
    assert read["potential_by_region"].schema.equals(outputs.POTENTIAL_SCHEMA)
    assert "prospect_categories" not in read  # checked, not read: the big one
    broken = _frame(outputs.PROSPECT_CATEGORIES_SCHEMA).drop_columns(["expected_revenue"])
    pq.write_table(broken, tmp_path / outputs.PROSPECT_CATEGORIES_FILE)
    with pytest.raises(outputs.OutputError, match=r"prospect_categories\.parquet: schema"):
        outputs.read_outputs(tmp_path)
    (tmp_path / outputs.METRICS_FILE).write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(outputs.OutputError, match="missing keys release"):
        outputs.read_outputs(tmp_path)


def fit_study():
    """The small study up to scoring: what the notebook has fitted before it scores."""
    prepared = study.prepare(warehouse_data(establishments=300, customer_share=0.3), None, 0, 1)
    cv, _, holdout = study.validate(prepared, 3, SMALL, seed=1, progress=lambda _: None)
    importance = study.held_out_importance(prepared, cv, seed=1)
    conv = study.convert(prepared, SMALL, seed=1, progress=lambda _: None)
    return prepared, cv, holdout, importance, conv


def score_study(fitted, folder, chunk_size: int, top_n: int = 5, cluster: str | None = None):
    prepared, cv, holdout, importance, conv = fitted
    scored = study.score(
        prepared, cv, conv, SMALL, 1, str(folder), "run-1", top_n, chunk_size, lambda _: None,
        cluster=cluster,
    )  # fmt: skip
    return results.write(prepared, cv, holdout, scored, importance, "run-1", str(folder), top_n)


@pytest.fixture(scope="module")
def fitted():
    return fit_study()


@pytest.fixture(scope="module")
def written(tmp_path_factory, fitted):
    folder = tmp_path_factory.mktemp("chunked")
    metrics = score_study(fitted, folder, chunk_size=37)
    return folder, metrics, fitted[0]


def read_sorted(folder, name: str) -> pd.DataFrame:
    """A table of the run's outputs without its timestamp, in a fixed row order."""
    frame = pq.read_table(folder / name).to_pandas().drop(columns=["scored_at"], errors="ignore")
    keys = [c for c in ("scope", "category", "rank", "cnpj_hash", "uf", "ibge_code", "channel")
            if c in frame]  # fmt: skip
    return frame.sort_values(keys).reset_index(drop=True)


def test_the_study_writes_the_documented_outputs(written):
    folder, metrics, prepared = written
    read = outputs.read_outputs(folder)
    assert set(outputs.METRICS_KEYS) <= set(read["metrics"])
    assert set(metrics["models"]) == set(MODEL_NAMES) == set(metrics["holdout"]["models"])
    assert metrics["cv"] == {"folds": 3, "grouping": "establishment"}
    assert metrics["holdout"]["month"] == "2026-06"
    assert set(metrics["ensemble_weights"]) == {"lightgbm", "random_forest", "linear"}
    head = metrics["headline"]
    assert head["improvement_vs_baseline"] == pytest.approx(
        1 - head["ensemble_rmse"] / head["baseline_rmse"]
    )
    non_customers = set(prepared.features["cnpj_hash"]) - prepared.data.customers
    prospects = read["prospects"].to_pandas()
    assert head["prospects_scored"] == len(non_customers) == len(prospects)
    assert set(prospects["cnpj_hash"]) == non_customers  # hidden customers are not prospects
    assert prospects["expected_revenue"].to_numpy() == pytest.approx(
        (prospects["p_convert"] * prospects["expected_spend"]).to_numpy()
    )
    assert (prospects["revenue_low"] <= prospects["expected_revenue"]).all()
    assert (prospects["expected_revenue"] <= prospects["revenue_high"]).all()
    gains = metrics["conversion"]["gains"]
    assert gains[-1]["customers_reached"] == pytest.approx(1.0)
    assert head["top10_customers_reached"] == next(
        g["customers_reached"] for g in gains if g["share_called"] == 0.1
    )


def test_ranks_and_totals_agree_with_an_independent_computation(written):
    folder, _, prepared = written
    prospects = pq.read_table(folder / outputs.PROSPECTS_FILE).to_pandas()
    categories = pq.read_table(folder / outputs.PROSPECT_CATEGORIES_FILE).to_pandas()
    assert len(categories) == len(prospects) * len(prepared.categories)
    spend = categories.groupby("cnpj_hash")["expected_spend"].sum()
    assert prospects.set_index("cnpj_hash")["expected_spend"].to_numpy() == pytest.approx(
        spend.reindex(prospects["cnpj_hash"]).to_numpy()
    )
    order = sorted(zip(-prospects["expected_revenue"], prospects["cnpj_hash"], strict=True))
    by_hash = prospects.set_index("cnpj_hash")["rank"]
    assert [by_hash[h] for _, h in order] == list(range(1, len(prospects) + 1))
    for _uf, part in prospects.groupby("uf"):
        assert sorted(part["rank_in_uf"]) == list(range(1, len(part) + 1))
        assert part.sort_values("rank")["rank_in_uf"].tolist() == list(range(1, len(part) + 1))


def test_potential_counts_distinct_establishments_and_sums_prospects(written):
    folder, _, prepared = written
    region = pq.read_table(folder / outputs.POTENTIAL_FILE).to_pandas()
    prospects = pq.read_table(folder / outputs.PROSPECTS_FILE).to_pandas()
    categories = pq.read_table(folder / outputs.PROSPECT_CATEGORIES_FILE).to_pandas()
    features = prepared.features
    for (city, channel), part in region.groupby(["ibge_code", "channel"]):
        here = features[(features["ibge_code"] == city) & (features["channel"] == channel)]
        assert set(part["establishments"]) == {here["cnpj_hash"].nunique()}
        assert set(part["customers"]) == {here["cnpj_hash"].isin(prepared.data.customers).sum()}
        mine = prospects[(prospects["ibge_code"] == city) & (prospects["channel"] == channel)]
        assert set(part["prospects"]) == {len(mine)}
        for row in part.itertuples():
            rows = categories[
                categories["cnpj_hash"].isin(mine["cnpj_hash"])
                & (categories["category"] == row.category)
            ]
            assert row.expected_revenue == pytest.approx(rows["expected_revenue"].sum())
            assert row.mean_p_convert == pytest.approx(rows["p_convert"].mean())


def test_the_shortlist_is_sorted_by_expected_revenue_with_distinct_establishments(written):
    folder, _, _ = written
    best = pq.read_table(folder / outputs.TOP_PROSPECTS_FILE).to_pandas()
    prospects = pq.read_table(folder / outputs.PROSPECTS_FILE).to_pandas()
    categories = pq.read_table(folder / outputs.PROSPECT_CATEGORIES_FILE).to_pandas()
    overall = best[best["scope"] == "overall"].sort_values("rank")
    assert overall["rank"].tolist() == list(range(1, 6))
    expected = prospects.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
    assert overall["cnpj_hash"].tolist() == expected["cnpj_hash"].head(5).tolist()
    assert overall["expected_revenue"].is_monotonic_decreasing
    assert overall["category"].isna().all()
    located = categories.merge(prospects[["cnpj_hash", "uf"]], on="cnpj_hash")
    groups = best[best["scope"] == "uf_category"].groupby(["uf", "category"])
    assert len(groups) == located.groupby(["uf", "category"]).ngroups
    for (uf, category), part in groups:
        part = part.sort_values("rank")
        assert part["cnpj_hash"].is_unique
        assert part["rank"].tolist() == list(range(1, len(part) + 1))
        assert part["expected_revenue"].is_monotonic_decreasing
        truth = located[(located["uf"] == uf) & (located["category"] == category)]
        truth = truth.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
        assert part["cnpj_hash"].tolist() == truth["cnpj_hash"].head(5).tolist()


def test_chunked_scoring_equals_unchunked(written, fitted, tmp_path):
    # Scored 37 prospects at a time and all at once, from the same fitted models (a fresh
    # fit would compare the fits too): the same ranks and the same values; only the
    # regional sums, added chunk by chunk, may differ in the last bits.
    folder, metrics, _ = written
    assert metrics["scoring"]["chunks"] > 1
    whole = score_study(fitted, tmp_path, chunk_size=10**9)
    assert whole["scoring"]["chunks"] == 1
    for name in (outputs.PROSPECTS_FILE, outputs.TOP_PROSPECTS_FILE,
                 outputs.PROSPECT_CATEGORIES_FILE):  # fmt: skip
        pd.testing.assert_frame_equal(read_sorted(folder, name), read_sorted(tmp_path, name))
    pd.testing.assert_frame_equal(
        read_sorted(folder, outputs.POTENTIAL_FILE),
        read_sorted(tmp_path, outputs.POTENTIAL_FILE),
        check_exact=False,
        rtol=1e-12,
    )
    assert metrics["conversion"] == whole["conversion"]


@pytest.mark.integration
def test_scoring_on_a_local_dask_cluster_equals_scoring_here(written, fitted, tmp_path):
    # The same chunks scored by 2 Dask worker processes: the same files, to the bit,
    # and in the same row order (results come back in the order the chunks went out).
    folder, metrics, _ = written
    on_dask = score_study(fitted, tmp_path, chunk_size=37, cluster="local")
    assert on_dask == metrics
    for name in outputs.TABLE_SCHEMAS:
        here = pq.read_table(folder / name).to_pandas().drop(columns="scored_at", errors="ignore")
        there = pq.read_table(tmp_path / name).to_pandas()
        there = there.drop(columns="scored_at", errors="ignore")
        pd.testing.assert_frame_equal(here, there, check_exact=True)


@pytest.mark.integration
def test_a_chunk_failing_on_a_dask_worker_fails_the_scoring_and_closes_the_cluster(fitted):
    import psutil

    prepared, cv, _, _, conv = fitted
    models = study.scoring_models(prepared, cv, conv, SMALL, 1)
    broken = conv.featured.drop(columns=["log_capital"])  # a worker's score_chunk raises
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with (
        pytest.raises(KeyError, match="log_capital"),
        scoring.scoring_client("local") as client,
    ):
        assert len(client.nthreads()) == 2
        list(scoring.scored_chunks(scoring.chunks_of(broken, 50), models, client))
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_the_ranking_out_of_core_equals_the_ranking_in_memory(tmp_path):
    # Ties (broken by cnpj_hash), a missing revenue (last), a missing state (its own
    # group), and batches smaller than a state's prospects.
    rng = np.random.default_rng(5)
    count = 1_000
    frame = pd.DataFrame(
        {
            "cnpj_hash": [f"{value:064x}" for value in rng.permutation(count)],
            "uf": rng.choice(["SP", "BA", "RJ", None], size=count),
            "p_convert": rng.random(count),
            "expected_spend": rng.choice([10.0, 20.0, 30.0], size=count),
        }
    )
    frame["expected_revenue"] = np.round(frame["p_convert"] * 4) * frame["expected_spend"]
    frame.loc[[3, 500], "expected_revenue"] = np.nan
    frame["revenue_low"] = frame["expected_revenue"] * 0.5
    frame["revenue_high"] = frame["expected_revenue"] * 2
    unranked = tmp_path / "unranked.parquet"
    pq.write_table(scoring.unranked_table(frame), unranked)
    batches = list(scoring.ranked_batches(unranked, tmp_path, batch_rows=64))
    assert len(batches) > 10
    out_of_core = pd.concat(batches, ignore_index=True)
    # Independently, in memory: by expected revenue (missing last), ties by cnpj_hash.
    in_memory = frame.sort_values(
        ["expected_revenue", "cnpj_hash"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)
    in_memory["rank"] = np.arange(1, len(in_memory) + 1)
    in_memory["rank_in_uf"] = in_memory.groupby("uf", dropna=False).cumcount() + 1
    columns = ["cnpj_hash", "uf", "expected_revenue", "rank", "rank_in_uf"]
    pd.testing.assert_frame_equal(
        out_of_core[columns], in_memory[columns], check_dtype=False, check_exact=True
    )


def test_interval_coverage_is_measured_on_held_out_customers(written):
    _, metrics, prepared = written
    interval = metrics["interval"]
    assert prepared.hidden and not set(prepared.rows["cnpj_hash"]) & prepared.hidden
    conv = study.convert(prepared, SMALL, seed=1, progress=lambda _: None)
    cv, _, _ = study.validate(prepared, 3, SMALL, seed=1, progress=lambda _: None)
    models = study.scoring_models(prepared, cv, conv, SMALL, 1)
    section, spend = study.calibrate_interval(prepared, conv, models)
    sales = prepared.data.monthly_sales
    observed = sales[sales["cnpj_hash"].isin(spend.index)].groupby("cnpj_hash")["sales_value"]
    observed = (observed.sum() / 6).reindex(spend.index, fill_value=0.0)
    checked = np.arange(len(spend)) % 2 == 1  # the half not used for the factors
    low, high = section["factors"]
    inside = (observed[checked] >= spend[checked] * low) & (
        observed[checked] <= spend[checked] * high
    )
    assert section["coverage"] == pytest.approx(inside.mean())
    assert interval["coverage"] == pytest.approx(inside.mean())
    assert interval["nominal"] == 0.8


def test_person_owned_prospects_have_no_identity(written):
    folder, _, prepared = written
    prospects = pq.read_table(folder / outputs.PROSPECTS_FILE).to_pandas()
    owners = prepared.features.set_index("cnpj_hash")
    personal = prospects["cnpj_hash"].map(
        (owners["natureza_juridica"] == "2135") | (owners["opcao_mei"] == "S")
    )
    assert personal.any() and (~personal).any()
    assert (prospects["person_owned"] == personal).all()
    assert prospects.loc[personal, ["cnpj", "trade_name", "legal_name"]].isna().all().all()
    assert prospects.loc[~personal, "cnpj"].notna().all()
    # A legal entity shows its registered name, also when it has no trade name.
    legal = prospects[~personal]
    assert (legal["legal_name"] == legal["cnpj_hash"].map(owners["razao_social"])).all()
    assert (legal["trade_name"].isna() & legal["legal_name"].notna()).any()
    for name in ("prospects", "top_prospects"):
        shown = pq.read_table(folder / getattr(outputs, f"{name.upper()}_FILE")).to_pandas()
        assert not shown["legal_name"].str.startswith("EMPRESARIO INDIVIDUAL").any(), name


def test_the_shortlist_shows_a_legal_entitys_name_and_nothing_of_one_persons_business():
    frame = pd.DataFrame(
        {
            "cnpj": [
                "11222333000181",
                "22333444000190",
                "33444555000100",
                "44555666000111",
                "55666777000122",
            ],
            "nome_fantasia": [None, "BAR DO JOAO", "  ", "EIRELI BAR", "SEM EMPRESA"],
            "razao_social": [
                "ACME BEBIDAS LTDA",
                "EMPRESARIO INDIVIDUAL 0a1b2c3d",
                "DISTRIBUIDORA XYZ SA",
                "EMPRESARIO INDIVIDUAL 9f8e7d6c",
                None,
            ],
            # a legal entity, a MEI, a legal entity with a blank trade name, an EIRELI
            # (person-owned, not MEI) and an establishment whose company row is missing
            "natureza_juridica": ["2062", "2135", "2054", "2305", None],
            "opcao_mei": ["N", "S", None, "N", None],
        }
    )
    shown = scoring.with_identity(frame, frozenset({"2135", "2305"}))
    assert shown["person_owned"].tolist() == [False, True, False, True, True]

    def values(column: str) -> list:
        return [None if pd.isna(value) else value for value in shown[column]]

    assert values("cnpj") == ["11222333000181", None, "33444555000100", None, None]
    assert values("trade_name") == [None, None, None, None, None]
    assert values("legal_name") == ["ACME BEBIDAS LTDA", None, "DISTRIBUIDORA XYZ SA",
                                    None, None]  # fmt: skip


def test_the_model_card_has_the_sections_of_a_model_card_in_portuguese(written):
    card = outputs.read_outputs(written[0])["model_card"]
    for section in ("Detalhes do modelo", "Uso pretendido", "Dados", "Validação",
                    "Limites conhecidos", "Considerações éticas", "Ensemble por canal",
                    "A lista encontra clientes de verdade?"):  # fmt: skip
        assert f"## {section}" in card or f"### {section}" in card
    assert "Supermercados" in card and "run-1" in card
    assert "lift do primeiro decil" in card and "cobre" in card
    for name in written[1]["members_without_weight"]:
        assert f"O membro {model_label(name)} não recebeu peso" in card
    # read by analysts in the report: Portuguese, business labels, Brazilian numbers
    assert english_words(card) == [], english_words(card)[:10]
    assert leftovers(card) == [], leftovers(card)
    for code in ("supermarket", "random_forest", "baseline", "rmse_rise"):
        assert code not in card, code
    assert re.search(r"R\$\s\d{1,3}(\.\d{3})*\b", card)  # R$ 1.234, never 1,234
