"""model_card.md, in the spirit of Mitchell et al. 2019 ("Model Cards for Model Reporting"),
in Portuguese: it is rendered in the analysts' report (R$ and numbers the Brazilian way)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.analysis.features import BUSINESS_NAMES, FEATURES
from flows.analysis.models import MODEL_NAMES
from flows.analysis.validation import scores
from flows.reports.formatting import brl, inteiro, numero, percentual
from flows.reports.marketing import month_text, period_text, release_text
from flows.reports.prospects import CHANNELS_PT


def per_channel_scores(rows: pd.DataFrame, observed: np.ndarray, predicted: np.ndarray):
    """The ensemble's out-of-fold RMSE, MAE and R² per channel."""
    frame = pd.DataFrame({"channel": rows["channel"].to_numpy(), "y": observed, "p": predicted})
    table = [
        {"channel": channel, "rows": len(part), **scores(part["y"], part["p"])}
        for channel, part in frame.groupby("channel")
    ]
    return pd.DataFrame(table).sort_values("rows", ascending=False).reset_index(drop=True)


MODEL_LABELS = {
    "baseline": "referência ingênua (mediana)",
    "lightgbm": "LightGBM",
    "random_forest": "floresta aleatória",
    "linear": "regressão ridge",
    "ensemble": "ensemble",
}
ROW_LABELS = {
    "establishments": "estabelecimentos ativos dos canais",
    "customers": "clientes",
    "hidden_customers": "clientes escondidos de todos os modelos",
    "training_rows": "linhas de treino",
    "training_rows_before_sampling": "linhas antes da amostragem",
    "prospects": "prospects pontuados",
    "prospect_category_rows": "linhas prospect × categoria",
}


def model_label(name: str) -> str:
    """A model's name for a reader (``random_forest`` → ``floresta aleatória``)."""
    return MODEL_LABELS.get(name, name.replace("_", " "))


def _money(value: float) -> str:
    """``R$ 1.234`` with a no-break space: the amount never wraps away from its ``R$``."""
    return brl(value, 0).replace("R$ ", "R$\u00a0")


def _ratio(value: float) -> str:
    return numero(value, 2)


def render(metrics: dict, by_channel: pd.DataFrame, importance: pd.DataFrame | None) -> str:
    """The card's Markdown text, in Portuguese, numbers the Brazilian way."""
    head = metrics["headline"]
    weights = ", ".join(
        f"{model_label(n)} {_ratio(w)}" for n, w in metrics["ensemble_weights"].items()
    )
    window = metrics["window"]
    lines = [
        f"# Ficha do modelo: ensemble de demanda do parceiro (execução {metrics['run_id']})",
        "",
        "## Detalhes do modelo",
        "- Prevê o valor mensal das vendas do parceiro (R$) a um estabelecimento numa categoria "
        "de produto, nos meses em que ele compra a categoria; potencial = a frequência com que "
        "o canal compra a categoria × esse valor.",
        "- Uma combinação com pesos não negativos (aprendidos fora da amostra) de LightGBM, "
        "uma floresta aleatória e uma regressão ridge, todos ajustados no log do valor e "
        f"trazidos de volta a R$. Pesos: {weights}.",
        "- Comparado com uma referência ingênua: a mediana das linhas de treino por canal × "
        "UF × categoria.",
        "",
        *_conversion_lines(metrics),
        "## Uso pretendido",
        "- Ordenar regiões, canais e estabelecimentos que ainda não são clientes para uma "
        "equipe que lança uma categoria; comparar o potencial das regiões com o que os "
        "clientes compram hoje.",
        "- Não serve para: crédito, preço ou qualquer decisão sobre uma pessoa; não é uma "
        "previsão de vendas de um estabelecimento (veja a faixa); não vale fora do período "
        "dos dados abaixo.",
        "",
        "## Dados",
        f"- Cadastro CNPJ de {release_text(metrics['release'])}; vendas do parceiro de "
        f"{period_text(window['start'], window['end'])}; categorias: "
        f"{', '.join(metrics['categories'])}.",
        "- Contagens: "
        + "; ".join(
            f"{ROW_LABELS.get(k, k.replace('_', ' '))} {inteiro(v)}"
            for k, v in metrics["rows"].items()
        )
        + ".",
        "- Informações usadas: " + "; ".join(BUSINESS_NAMES[f] for f in FEATURES) + ".",
        "",
        "## Validação",
        f"- Validação cruzada em {metrics['cv']['folds']} partes (folds) agrupada por "
        "estabelecimento (nenhum estabelecimento nos dois lados de uma parte), mais um teste "
        "no tempo, também agrupado: treino nos meses anteriores sem 20% dos estabelecimentos, "
        f"sorteados; teste em {month_text(metrics['holdout']['month'])} nesses "
        "estabelecimentos não vistos.",
        f"- Resumo: RMSE do ensemble {_money(head['ensemble_rmse'])} contra "
        f"{_money(head['baseline_rmse'])} da referência "
        f"({percentual(head['improvement_vs_baseline'], 0)} menor); R² do ensemble "
        f"{_ratio(head['ensemble_r2'])}.",
        "",
        "| modelo | RMSE na validação cruzada (média ± dp) | MAE | R² | RMSE no mês de teste "
        "| R² no mês de teste |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in MODEL_NAMES:
        cv, hold = metrics["models"][name], metrics["holdout"]["models"][name]
        lines.append(
            f"| {model_label(name)} | {_money(cv['rmse']['mean'])} ± {_money(cv['rmse']['std'])} "
            f"| {_money(cv['mae']['mean'])} | {_ratio(cv['r2']['mean'])} ± "
            f"{_ratio(cv['r2']['std'])} | {_money(hold['rmse'])} | {_ratio(hold['r2'])} |"
        )
    lines += [
        "",
        "### Ensemble por canal (fora da amostra)",
        "",
        "| canal | linhas | RMSE | MAE | R² |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in by_channel.itertuples():
        lines.append(
            f"| {CHANNELS_PT.get(row.channel, row.channel)} | {inteiro(row.rows)} | "
            f"{_money(row.rmse)} | {_money(row.mae)} | {_ratio(row.r2)} |"
        )
    lines += _holdout_lines(metrics)
    if importance is not None and len(importance):
        lines += [
            "",
            "### Em que as previsões se apoiam (importância por permutação em linhas não "
            "vistas; todos os grupos; um aumento negativo quer dizer que embaralhar o grupo "
            "melhorou as previsões)",
            "",
        ]
        for row in importance.itertuples():
            change = "aumenta" if row.rmse_rise >= 0 else "reduz"
            lines.append(
                f"- {row.feature}: embaralhar {change} o RMSE em {_money(abs(row.rmse_rise))}"
            )
    lines += [
        "",
        "## Limites conhecidos",
        "- A frequência com que um estabelecimento compra uma categoria é a média do seu canal "
        "(só clientes); o modelo explica o tamanho de uma compra, não a frequência.",
        "- A faixa (80%, dos resíduos fora da amostra) é por estabelecimento; o mínimo e o "
        "máximo de uma região somam esses limites: uma faixa conservadora, não um intervalo "
        "da soma.",
        "- Clientes são estabelecimentos que escolheram o parceiro: prospects podem diferir "
        "deles de modos que o cadastro não mostra; o potencial de um prospect supõe que ele "
        "compra como clientes parecidos.",
        "- O mês do teste no tempo pode ser um mês do ano que o treino nunca viu (a "
        "sazonalidade é então extrapolada dos meses vizinhos).",
        "- Em dados de amostra gerados, as notas medem quanto do sinal plantado é recuperado "
        "(docs/sample-data.md), não a precisão no mundo real.",
        "",
        "## Considerações éticas",
        "- As entradas vêm do warehouse já limpo (sem nomes, CPFs, e-mails ou telefones de "
        "pessoas). Nomes fantasia de empreendedores individuais e MEIs ficam fora da lista de "
        "prospects porque podem ser o nome do dono.",
        "",
    ]
    return "\n".join(lines)


def _conversion_lines(metrics: dict) -> list[str]:
    """Conversion model, expected revenue, the hidden-customer check and the interval."""
    conv, interval = metrics["conversion"], metrics["interval"]
    top10 = next((g for g in conv["gains"] if g["share_called"] == 0.1), None)
    silent = metrics.get("members_without_weight") or []
    thin = metrics.get("thin_categories") or {}
    lines = [
        "- Chance de virar cliente (semelhança): um classificador LightGBM de clientes contra "
        "não clientes ativos dos canais, com ajuste cruzado em 5 partes; informações do "
        "cadastro, do IBGE e da parte de clientes na cidade, no bairro e na UF do "
        "estabelecimento, calculada só com as outras partes (nunca com o próprio rótulo).",
        "- Receita esperada = P(virar cliente) × compra mensal esperada como cliente "
        "(frequência × valor por categoria, meses sem compra contam); é a ordem da lista.",
        "",
        "## A lista encontra clientes de verdade?",
        f"- {inteiro(conv['hidden_customers'])} clientes "
        f"({percentual(conv['hidden_share'], 0)}) foram escondidos de todos os modelos e "
        f"pontuados entre {inteiro(conv['candidates'])} candidatos: lift do primeiro decil "
        f"{_ratio(conv['top_decile_lift'])}, AUC {numero(conv['auc'], 3)} (ordem por "
        "P(virar cliente)); pela receita esperada, lift "
        f"{_ratio(conv['expected_revenue_top_decile_lift'])}.",
    ]
    if top10:
        lines.append(
            "- Ligar para os 10% primeiros da lista (por receita esperada) alcança "
            f"{percentual(top10['customers_reached'], 0)} dos clientes escondidos e "
            f"{percentual(top10['revenue_reached'], 0)} da receita deles."
        )
    if interval.get("coverage") is not None:
        miss = interval["coverage"] - interval["nominal"]
        verdict = (
            "dentro de 5 pontos"
            if abs(miss) <= 0.05
            else f"ERRA o nível nominal por {numero(abs(miss) * 100, 0)} pontos"
        )
        lines.append(
            f"- A faixa de {percentual(interval['nominal'], 0)} da receita mensal esperada de "
            f"um estabelecimento cobre {percentual(interval['coverage'], 0)} dos clientes "
            f"escondidos ({verdict}; calibrada em metade deles, medida na outra metade); erro "
            f"típico de {_money(interval['typical_error_brl_month'])} por mês."
        )
    for name in silent:
        lines.append(
            f"- O membro {model_label(name)} não recebeu peso em nenhuma parte: fica para "
            "comparação, mas não contribui para as previsões."
        )
    if thin:
        lines.append(
            f"- {inteiro(len(thin))} categorias com menos de 500 linhas de treino, pontuadas "
            "pela referência (mediana por canal × UF × categoria); nenhum resultado do modelo "
            "é afirmado para elas: "
            + ", ".join(f"{name} ({inteiro(rows)} linhas)" for name, rows in thin.items())
            + "."
        )
    lines.append("")
    return lines


def _holdout_lines(metrics: dict) -> list[str]:
    """Known customers next month, reported under their own name."""
    known = metrics["holdout"].get("known_customers_next_month")
    if not known:
        return []
    lines = [
        "",
        f"### Clientes conhecidos no mês seguinte ({month_text(metrics['holdout']['month'])}; "
        "estabelecimentos em que os modelos treinaram, NÃO é uma medida dos prospects)",
        "",
        "| modelo | RMSE | R² |",
        "| --- | --- | --- |",
    ]
    for name in MODEL_NAMES:
        score = known["models"][name]
        lines.append(f"| {model_label(name)} | {_money(score['rmse'])} | {_ratio(score['r2'])} |")
    return lines
