"""What the analysis notebook says between its charts, in Portuguese, for a reviewer.

The notebook tells the story; these functions turn its numbers into Markdown sentences and
reviewer tables with business labels (``Bares com entretenimento``, ``floresta
aleatória``), Brazilian numbers (``R$ 1.234``, ``0,62``), no row index, a dash for a
missing value and no path of the run's scratch folder. RMSE, R² and folds are named here:
this is the analysts' report (the marketing infographic never shows them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from flows.analysis.model_card import model_label
from flows.analysis.models import MODEL_NAMES
from flows.reports.formatting import MISSING, brl, inteiro, numero, percentual
from flows.reports.marketing import month_text, period_text
from flows.reports.marketing import table as html_table
from flows.reports.prospects import channel_pt, identity, place_name


def data_text(
    release: str,
    window: Any,
    establishments: int,
    customers: int,
    rows: int,
    sampled_from: int,
    categories: Sequence[str],
) -> str:
    """The data the run learned from, in one paragraph of Markdown."""
    sampled = (
        f" (amostra de {inteiro(sampled_from)})" if sampled_from and sampled_from != rows else ""
    )
    return (
        f"**Dados desta execução.** Cadastro CNPJ de {release}; vendas do parceiro de "
        f"{period_text(window.start, window.end)}. {inteiro(establishments)} estabelecimentos "
        f"ativos dos canais, {inteiro(customers)} deles clientes do parceiro. "
        f"{inteiro(rows)} linhas cliente × categoria × mês para aprender{sampled}. "
        f"Categorias: {', '.join(categories)}."
    )


def channel_table(rows: pd.DataFrame) -> str:
    """Customers, learning rows and the median monthly purchase per channel, ranked by the
    median purchase."""
    per_channel = (
        rows.groupby("channel")
        .agg(
            customers=("cnpj_hash", "nunique"),
            rows=("cnpj_hash", "size"),
            median_value=("sales_value", "median"),
        )
        .sort_values("median_value", ascending=False)
        .reset_index()
    )
    frame = pd.DataFrame(
        {
            "Nº": [inteiro(n) for n in range(1, len(per_channel) + 1)],
            "Canal": [channel_pt(c) for c in per_channel["channel"]],
            "Clientes": [inteiro(v) for v in per_channel["customers"]],
            "Linhas (cliente × categoria × mês)": [inteiro(v) for v in per_channel["rows"]],
            "Compra mensal mediana (R$ por mês)": [brl(v, 0) for v in per_channel["median_value"]],
        }
    )
    return html_table(frame, "Compra mensal de um cliente, por canal")


def _spread(stat: Mapping[str, float], money: bool) -> str:
    if money:
        return f"{brl(stat['mean'], 0)} ± {numero(stat['std'], 0)}"
    return f"{numero(stat['mean'], 2)} ± {numero(stat['std'], 2)}"


def scores_table(summary: Mapping[str, Any], holdout: Mapping[str, Any], month: str) -> str:
    """Every model's cross-validated and time-holdout scores, one row per model."""
    unseen = month_text(month)
    rows = []
    for name in [n for n in MODEL_NAMES if n in summary]:
        scores, later = summary[name], holdout["models"][name]
        rows.append(
            {
                "Modelo": model_label(name),
                "RMSE (R$, média ± dp entre folds)": _spread(scores["rmse"], True),
                "MAE (R$)": _spread(scores["mae"], True),
                "R²": _spread(scores["r2"], False),
                f"RMSE em {unseen}": brl(later["rmse"], 0),
                f"R² em {unseen}": numero(later["r2"], 2),
            }
        )
    return html_table(
        pd.DataFrame(rows),
        f"Validação cruzada agrupada por estabelecimento, e o mês {unseen} em "
        "estabelecimentos que os modelos não viram",
        ranked=False,
    )


def weights_text(weights: Mapping[str, float], summary: Mapping[str, Any]) -> str:
    """The ensemble's weights and its gain over the naive baseline."""
    ensemble, baseline = summary["ensemble"], summary["baseline"]
    improvement = 1 - ensemble["rmse"]["mean"] / baseline["rmse"]["mean"]
    shown = ", ".join(f"{model_label(n)} {numero(w, 2)}" for n, w in weights.items())
    return (
        f"**Pesos do ensemble (não negativos, aprendidos fora da amostra):** {shown}.  \n"
        f"O erro (RMSE) do ensemble é **{percentual(improvement, 0)} menor** que o da "
        "referência ingênua em estabelecimentos que ele nunca viu (R² "
        f"{numero(ensemble['r2']['mean'], 2)})."
    )


def ranking_check_text(check: Mapping[str, Any]) -> str:
    """The hidden-customer test in words."""
    top10 = next((g for g in check.get("gains", []) if g["share_called"] == 0.1), None)
    text = (
        f"**A lista encontra clientes de verdade?** {inteiro(check['hidden_customers'])} "
        f"clientes foram escondidos de todos os modelos e pontuados entre "
        f"{inteiro(check['candidates'])} candidatos. Os 10% com maior chance de virar cliente "
        f"têm **{numero(check['top_decile_lift'], 2)} vezes** a proporção de clientes "
        f"escondidos da lista toda (lift do primeiro decil); AUC "
        f"**{numero(check['auc'], 3)}**."
    )
    if top10 is not None:
        text += (
            " Ligar para os 10% primeiros da lista alcança "
            f"**{percentual(top10['customers_reached'], 0)}** dos clientes escondidos e "
            f"**{percentual(top10['revenue_reached'], 0)}** da receita deles."
        )
    return text


def gains_table(gains: Sequence[Mapping[str, float]]) -> str:
    """The cumulative gains: share of the list called against what it reaches."""
    frame = pd.DataFrame(
        {
            "Parte da lista chamada": [percentual(g["share_called"], 0) for g in gains],
            "Clientes escondidos alcançados": [
                percentual(g["customers_reached"], 0) for g in gains
            ],
            "Receita deles alcançada": [percentual(g["revenue_reached"], 0) for g in gains],
        }
    )
    return html_table(frame, "Ganho acumulado da lista", ranked=False)


def regions_table(region: pd.DataFrame, top: int = 15) -> str:
    """The cities × channels × categories with the most expected revenue, numbered."""
    best = region.sort_values("expected_revenue", ascending=False).head(top)
    frame = pd.DataFrame(
        {
            "Nº": [inteiro(n) for n in range(1, len(best) + 1)],
            "Cidade": [f"{c} ({u})" for c, u in zip(best["city"], best["uf"], strict=True)],
            "Canal": [channel_pt(c) for c in best["channel"]],
            "Categoria": list(best["category"]),
            "Estabelecimentos": [inteiro(v) for v in best["establishments"]],
            "Clientes": [inteiro(v) for v in best["customers"]],
            "Prospects": [inteiro(v) for v in best["prospects"]],
            "Chance média de virar cliente": [percentual(v, 1) for v in best["mean_p_convert"]],
            "Receita esperada (R$ por mês)": [brl(v, 0) for v in best["expected_revenue"]],
            "Vendas atuais (R$ por mês)": [brl(v, 0) for v in best["observed_sales"]],
        }
    )
    return html_table(
        frame, f"As {inteiro(len(best))} cidades × canais × categorias de maior receita esperada"
    )


def prospects_table(top: pd.DataFrame) -> str:
    """The overall shortlist as published (``top_prospects``, scope ``overall``)."""
    best = top[top["scope"] == "overall"].sort_values("rank")
    names = [identity(row) for row in best.itertuples()]
    frame = pd.DataFrame(
        {
            "Nº": [inteiro(v) for v in best["rank"]],
            "Estabelecimento": [
                name if cnpj == MISSING else f"{name} (CNPJ {cnpj})" for name, cnpj in names
            ],
            "Canal": [channel_pt(c) for c in best["channel"]],
            "Bairro": [place_name(n) for n in best["neighbourhood"]],
            "Cidade": [f"{c} ({u})" for c, u in zip(best["city"], best["uf"], strict=True)],
            "Chance": list(best["likelihood"]),
            "P(virar cliente)": [percentual(v, 1) for v in best["p_convert"]],
            "Compra esperada como cliente (R$ por mês)": [
                brl(v, 0) for v in best["expected_spend"]
            ],
            "Receita esperada (R$ por mês)": [brl(v, 0) for v in best["expected_revenue"]],
            "Faixa de 80% (R$ por mês)": [
                f"{brl(low, 0)} a {brl(high, 0)}"
                for low, high in zip(best["revenue_low"], best["revenue_high"], strict=True)
            ],
        }
    )
    return html_table(frame, "Os melhores prospects, por receita esperada")


def run_summary(run_id: str, headline: Mapping[str, Any]) -> str:
    """The run's headline in one paragraph (no path: the files are archived with it)."""
    return (
        f"**Resumo da execução {run_id}.** RMSE do ensemble "
        f"{brl(headline['ensemble_rmse'], 0)} contra {brl(headline['baseline_rmse'], 0)} da "
        f"referência ingênua ({percentual(headline['improvement_vs_baseline'], 0)} menor), R² "
        f"{numero(headline['ensemble_r2'], 2)}; {inteiro(headline['prospects_scored'])} "
        "prospects avaliados. As saídas (métricas, potencial por região, lista de prospects e "
        "a ficha do modelo) ficam arquivadas com esta execução."
    )


def card_markdown(card: str, levels: int = 2) -> str:
    """The model card inside the report: its headings ``levels`` deeper, under the
    report's own "Ficha do modelo" section (its title is not a second page title)."""
    return re.sub(r"^(#{1,6}) ", lambda m: "#" * min(6, len(m[1]) + levels) + " ", card, flags=re.M)
