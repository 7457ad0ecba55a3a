"""The analysis notebook's sentences and tables, from small frames: Portuguese, business
labels, Brazilian numbers, every ranked table numbered 1..N, no NaN and no row index."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from flows.analysis import narrative
from flows.analysis.data import Window
from flows.analysis.models import MODEL_NAMES
from tests.portuguese import english_words, leftovers, page_text


def clean(html: str) -> str:
    text = page_text(f"<body>{html}").replace("**", "")
    assert english_words(text) == [], english_words(text)
    assert leftovers(text) == [], leftovers(text)
    return text


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td data-label="Nº">(\d+)</td>', html)]


def test_data_and_channels_read_in_portuguese():
    text = narrative.data_text(
        "2026-11", Window("2025-11", "2026-10"), 20519, 1634, 24442, 30000, ["Arroz", "Vinho"]
    )
    assert "01/11/2025 a 31/10/2026" in text and "20.519 estabelecimentos" in text
    assert "amostra de 30.000" in text
    clean(text)
    rows = pd.DataFrame(
        {
            "channel": ["bar_with_entertainment", "wholesale", "wholesale", "bar"],
            "cnpj_hash": ["a", "b", "c", "d"],
            "sales_value": [120.0, 5000.0, 7000.0, np.nan],
        }
    )
    html = narrative.channel_table(rows)
    text = clean(html)
    assert numbers(html) == [1, 2, 3]
    assert text.index("Atacado") < text.index("Bares com entretenimento")  # by median value
    assert "R$ 6.000" in text and "—" in text  # a channel without a value: a dash, not NaN


def scores(value: float) -> dict:
    return {
        "rmse": {"mean": value, "std": 12.5},
        "mae": {"mean": value / 2, "std": 3.0},
        "r2": {"mean": 0.61, "std": 0.04},
    }


def test_scores_and_weights_name_models_as_a_reviewer_does():
    summary = {name: scores(1000.0 + 100 * n) for n, name in enumerate(MODEL_NAMES)}
    summary["ensemble"] = scores(800.0)
    holdout = {"models": {name: {"rmse": 900.0, "r2": 0.5} for name in MODEL_NAMES}}
    html = narrative.scores_table(summary, holdout, "2026-10")
    text = clean(html)
    assert "floresta aleatória" in text and "referência ingênua" in text
    assert "random_forest" not in text and "baseline" not in text
    assert "RMSE em out/2026" in text and "R$ 1.100 ± 12" in text and "0,61 ± 0,04" in text
    weights = narrative.weights_text(
        {"lightgbm": 0.7, "random_forest": 0.3, "linear": 0.0}, summary
    )
    assert "LightGBM 0,70" in weights and "20% menor" in weights
    clean(weights)


def test_ranking_check_regions_and_prospects():
    check = {
        "hidden_customers": 1234,
        "candidates": 20000,
        "top_decile_lift": 3.456,
        "auc": 0.8123,
        "gains": [
            {"share_called": s, "customers_reached": min(1.0, 3 * s), "revenue_reached": s**0.5}
            for s in (0.1, 0.5, 1.0)
        ],
    }
    text = clean(narrative.ranking_check_text(check))
    assert "1.234 clientes" in text and "3,46 vezes" in text and "AUC 0,812" in text
    assert "30% dos clientes escondidos" in text
    gains = narrative.gains_table(check["gains"])
    assert "10%" in clean(gains) and "0.1" not in gains

    region = pd.DataFrame(
        {
            "uf": ["SP", "AC", "RJ"],
            "city": ["São Paulo", "Rio Branco", "Rio de Janeiro"],
            "channel": ["wholesale", "bar_with_entertainment", "bar"],
            "category": ["Cerveja", "Cerveja", "Vinho"],
            "establishments": [39, 5, 12],
            "customers": [3, 0, 1],
            "prospects": [36, 5, 11],
            "mean_p_convert": [0.12, 0.05, np.nan],
            "expected_revenue": [2312.4, 13.75, 400.0],
            "observed_sales": [1500.0, np.nan, 80.0],
        }
    )
    html = narrative.regions_table(region)
    text = clean(html)
    assert numbers(html) == [1, 2, 3]
    assert text.index("São Paulo (SP)") < text.index("Rio de Janeiro (RJ)")
    assert "Bares com entretenimento" in text and "R$ 2.312" in text and "12,0%" in text

    top = pd.DataFrame(
        {
            "scope": ["overall", "overall", "uf_category"],
            "rank": [2, 1, 1],
            "cnpj": [None, "11222333000181", "99"],
            "trade_name": [None, None, "X"],
            "legal_name": [None, "COMERCIO LTDA", "X"],
            "person_owned": [True, False, False],
            "channel": ["bar", "wholesale", "bar"],
            "neighbourhood": ["VILA DA SAUDE", None, "X"],
            "city": ["São Paulo", "Campinas", "X"],
            "uf": ["SP", "SP", "SP"],
            "likelihood": ["alta", "média", "baixa"],
            "p_convert": [0.7, 0.3, 0.1],
            "expected_spend": [1000.0, 5000.0, 1.0],
            "expected_revenue": [700.0, 1500.0, 0.1],
            "revenue_low": [400.0, 900.0, 0.0],
            "revenue_high": [1000.0, 2000.0, 0.2],
        }
    )
    html = narrative.prospects_table(top)
    text = clean(html)
    assert numbers(html) == [1, 2]  # the overall scope only, in rank order
    assert "COMERCIO LTDA (CNPJ 11.222.333/0001-81)" in text
    assert "Empreendedor individual" in text and "Vila da Saude" in text


def test_run_summary_names_no_path():
    head = {
        "ensemble_rmse": 781.747,
        "baseline_rmse": 1020.5,
        "improvement_vs_baseline": 0.234,
        "ensemble_r2": 0.62,
        "prospects_scored": 18885,
    }
    text = clean(narrative.run_summary("manual-20261130", head))
    assert "R$ 782 contra R$ 1.020" in text and "23% menor" in text and "18.885" in text
    assert "metrics.json" not in text and "/" not in text.replace("R$", "")


def test_the_model_card_sits_under_the_reports_heading():
    card = "# Ficha do modelo: x\n\n## Dados\n\n- a # b\n### Detalhe\n"
    shown = narrative.card_markdown(card)
    assert shown.startswith("### Ficha do modelo: x") and "\n#### Dados\n" in shown
    assert "- a # b" in shown and "\n##### Detalhe" in shown
