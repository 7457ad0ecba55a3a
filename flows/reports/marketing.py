"""The infographic's analysis sections as HTML and SVG, in plain Portuguese.

Every table is numbered 1..N in the order of the value it ranks, every amount says it is
per month and every section names its source (the model, or the partner's sales). Tables
carry ``data-label`` on each cell so that on a phone each row becomes a small card
(template CSS) instead of columns hidden off-screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

from flows.reports.charts import bar_chart, line_chart, uf_tile_grid
from flows.reports.formatting import brl, compacto, inteiro, percentual
from flows.reports.prospects import AnalysisRun, channel_pt, identity, place_name

MONTHS_PT = ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"]
SOURCE_MODEL = "Fonte: previsão do modelo Big D (análise {run}), em R$ por mês."
SOURCE_SALES = "Fonte: vendas do parceiro, {period}."
OLDER_ANALYSIS = (
    "A análise informada é de uma versão anterior do modelo, sem lista por "
    "estabelecimento: este relatório mostra só as vendas."
)
SHORTLIST_PHONE_LABELS = {
    "Receita esperada (R$/mês)": "Receita/mês",
    "Chance de virar cliente": "Chance",
}
PERSONAL_DATA_NOTE = (
    "Empreendedores individuais (MEI e afins) aparecem só com canal e local: o nome e o "
    "CNPJ deles identificam uma pessoa, e a política de dados pessoais do Big D não os "
    "mostra. Empresas aparecem com nome fantasia (ou razão social) e CNPJ, dados públicos "
    "do cadastro da Receita Federal."
)


def cell(value: object) -> str:
    """Escaped, and ``R$`` kept on the same line as its amount."""
    return escape(str(value)).replace("R$ ", "R$&nbsp;")


def table(
    frame: pd.DataFrame,
    caption: str = "",
    html_columns: Sequence[str] = (),
    ranked: bool = True,
    phone_labels: Mapping[str, str] | None = None,
) -> str:
    """A ``bigd-table``; each cell labelled with its column for the phone layout (or with
    ``phone_labels[column]``, shorter, so that short fields share a line of the card).
    ``ranked``: its ``Nº`` column numbers the rows 1..N in order of value."""
    short = phone_labels or {}
    head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in frame.columns)
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{escape(str(short.get(column, column)))}">'
            f"{value if column in html_columns else cell(value)}</td>"
            for column, value in zip(frame.columns, row, strict=True)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    classes = "bigd-table bigd-cards" + (" bigd-ranked" if ranked else "")
    return (
        f'<table class="{classes}">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def month_text(month: str) -> str:
    """``2026-10`` → ``out/2026``."""
    period = pd.Period(str(month)[:7], freq="M")
    return f"{MONTHS_PT[period.month - 1]}/{period.year}"


def period_text(start: object, end: object) -> str:
    """Whole months, both ends inclusive: ``2025-11``..``2026-10`` → ``01/11/2025 a
    31/10/2026 (nov/2025 a out/2026)``."""
    first = pd.Period(str(start)[:7], freq="M")
    last = pd.Period(str(end)[:7], freq="M")
    return (
        f"{first.start_time:%d/%m/%Y} a {last.end_time:%d/%m/%Y} "
        f"({month_text(str(first))} a {month_text(str(last))})"
    )


def release_text(release: object) -> str:
    """``2026-11`` → ``11/2026``."""
    text = str(release or "?")
    return f"{text[5:7]}/{text[:4]}" if len(text) == 7 and text[4] == "-" else text


def side_by_side(*parts: str) -> str:
    """Charts next to each other on a wide screen, one under the other on a phone."""
    return '<div class="bigd-pair">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def note(text: str) -> str:
    return f'<p class="bigd-note">{escape(text)}</p>'


def categories_line(run: AnalysisRun, categories: list[str] | None) -> str:
    chosen = run.chosen(categories)
    window = run.metrics.get("window") or {}
    return note(
        f"Categorias deste relatório: {', '.join(chosen)}. Previsão feita com as vendas de "
        f"{period_text(window.get('start'), window.get('end'))} e o cadastro CNPJ de "
        f"{release_text(run.metrics.get('release'))}."
    )


def _shortlist_table(rows: pd.DataFrame, rank_column: str) -> str:
    names = [identity(row) for row in rows.itertuples()]
    frame = pd.DataFrame(
        {
            "Nº": [inteiro(v) for v in rows[rank_column]],
            "Estabelecimento": [
                f"{escape(name)}<br><small>CNPJ {escape(cnpj)}</small>"
                if cnpj != "—"
                else f"{escape(name)}<br><small>dados pessoais omitidos</small>"
                for name, cnpj in names
            ],
            "Receita esperada (R$/mês)": [brl(v) for v in rows["expected_revenue"]],
            "Chance de virar cliente": list(rows["likelihood"]),
            "Canal": [channel_pt(c) for c in rows["channel"]],
            "Bairro": [place_name(n) for n in rows["neighbourhood"]],
            "Cidade": [f"{c} ({u})" for c, u in zip(rows["city"], rows["uf"], strict=True)],
        }
    )
    return table(frame, html_columns=("Estabelecimento",), phone_labels=SHORTLIST_PHONE_LABELS)


def shortlist_section(run: AnalysisRun, categories: list[str] | None, top_n: int = 20) -> str:
    """The overall top ``top_n``, then one collapsible list per UF (no script needed)."""
    best = run.top(categories, top_n)
    if not best.total:
        return note("Nenhum prospect pontuado nesta análise.")
    ranked = best.rows
    parts = [
        note(
            f"{inteiro(best.total)} estabelecimentos que ainda não compram do parceiro, "
            "numerados pela receita mensal esperada (chance de virar cliente × quanto "
            "compraria por mês). " + SOURCE_MODEL.format(run=run.metrics.get("run_id", "?"))
        ),
        _shortlist_table(ranked[ranked["rank"] <= top_n], "rank"),
    ]
    per_uf = best.per_uf["expected_revenue"].sort_values(ascending=False)
    parts += [
        '<details class="bigd-more bigd-ufs"><summary>Por UF: os melhores prospects de '
        f"cada uma das {inteiro(len(per_uf))} UFs</summary>",
        note(
            "Abra uma UF para ver os melhores prospects dela, numerados dentro da UF; ao lado, "
            "quantos prospects ela tem e a receita esperada de todos eles."
        ),
    ]
    for uf in per_uf.index:
        rows = ranked[(ranked["uf"] == uf) & (ranked["rank_in_uf"] <= top_n)]
        parts.append(
            f'<details class="bigd-uf" data-uf="{escape(str(uf))}"><summary>{escape(str(uf))}: '
            f"{inteiro(best.per_uf.at[uf, 'prospects'])} prospects · "
            f"{cell(brl(per_uf[uf]))} por mês"
            f"</summary>{_shortlist_table(rows, 'rank_in_uf')}</details>"
        )
    parts += ["</details>", note(PERSONAL_DATA_NOTE)]
    return "".join(parts)


def regions_section(
    run: AnalysisRun, categories: list[str] | None, top_n: int = 15, beside: str = ""
) -> str:
    """Expected monthly revenue per UF × channel, establishments counted once; its chart
    next to ``beside`` (the UF map) on a wide screen."""
    regions = run.regions(categories).head(top_n)
    frame = pd.DataFrame(
        {
            "Nº": [inteiro(n) for n in range(1, len(regions) + 1)],
            "UF": regions["uf"],
            "Canal": [channel_pt(c) for c in regions["channel"]],
            "Receita esperada (R$/mês)": [brl(v) for v in regions["expected_revenue"]],
            "Faixa provável (R$/mês)": [
                f"{brl(low)} a {brl(high)}"
                for low, high in zip(regions["revenue_low"], regions["revenue_high"], strict=True)
            ],
            "Estabelecimentos": [inteiro(v) for v in regions["establishments"]],
            "Já clientes": [inteiro(v) for v in regions["customers"]],
        }
    )
    chart = bar_chart(
        [
            f"{uf} · {channel_pt(c)}"
            for uf, c in zip(regions["uf"], regions["channel"], strict=True)
        ],
        [float(v) for v in regions["expected_revenue"]],
        "Receita esperada por região e canal (R$ por mês)",
        fmt=lambda v: compacto(v, moeda=True),
        color="#27ae60",
    )
    return (
        (side_by_side(beside, chart) if beside else chart)
        + '<details class="bigd-more"><summary>Ver a tabela: estabelecimentos, clientes e '
        + "faixa provável de cada região e canal</summary>"
        + table(frame)
        + "</details>"
        + note(
            "Estabelecimentos: ativos no cadastro naquela UF e canal, cada um contado uma vez. "
            + SOURCE_MODEL.format(run=run.metrics.get("run_id", "?"))
        )
    )


def uf_potential_section(run: AnalysisRun, categories: list[str] | None) -> str:
    per_uf = run.regions(categories).groupby("uf")["expected_revenue"].sum()
    return uf_tile_grid(
        {str(uf): float(v) for uf, v in per_uf.items()},
        "Receita esperada por UF (R$ por mês, previsão)",
        fmt=compacto,
    )


def gains_section(run: AnalysisRun) -> str:
    """One sentence and one small chart from the hidden-customer test."""
    reached = run.reached_at(0.1)
    gains = run.gains()
    if reached is None or not gains:
        return note("Esta análise não mediu quanto a lista acerta.")
    customers, revenue = reached
    conversion = run.metrics.get("conversion") or {}
    sentence = (
        f"Ligar para os 10% primeiros da lista alcança {percentual(customers, 0)} dos "
        f"clientes e {percentual(revenue, 0)} da receita deles; ao acaso seriam 10%."
    )
    how = (
        f"Medido com {inteiro(conversion.get('hidden_customers'))} clientes reais do parceiro "
        "escondidos do modelo: a posição em que eles apareceram na lista e quanto eles "
        "compram por mês (todas as categorias da análise)."
    )
    chart = line_chart(
        [percentual(p["share_called"], 0) for p in gains],
        {
            "Receita alcançada": [float(p["revenue_reached"]) for p in gains],
            "Ao acaso": [float(p["share_called"]) for p in gains],
        },
        "Parte da lista chamada × receita alcançada",
        fmt=lambda v: percentual(v, 0),
        width=420,
        height=240,
    )
    return f'<p class="bigd-lead">{escape(sentence)}</p>{chart}{note(how)}'


def confidence_section(run: AnalysisRun) -> str:
    """How far a forecast is from reality, in R$ per month: no RMSE, R² or folds."""
    headline = run.metrics.get("headline") or {}
    interval = run.metrics.get("interval") or {}
    lines = []
    error = headline.get("typical_error_brl_month")
    if error is not None:
        lines.append(
            f"Erro típico de {brl(error)} por mês na receita prevista de um estabelecimento."
        )
    if interval.get("coverage") is not None:
        lines.append(
            f"A faixa provável acertou {percentual(interval['coverage'], 0)} dos clientes "
            f"testados (meta: {percentual(interval.get('nominal'), 0)})."
        )
    if headline.get("prospects_scored") is not None:
        lines.append(f"{inteiro(headline['prospects_scored'])} prospects avaliados.")
    if not lines:
        return note("Esta análise não informou a precisão do modelo.")
    return "<ul>" + "".join(f"<li>{cell(line)}</li>" for line in lines) + "</ul>"


def headline_text(metrics: dict[str, Any]) -> list[str]:
    """The plain headline lines of the reports index (never RMSE or R²)."""
    headline = metrics or {}
    lines = []
    if headline.get("top10_revenue_reached") is not None:
        lines.append(
            f"10% primeiros da lista: {percentual(headline['top10_revenue_reached'], 0)} "
            "da receita dos clientes do teste"
        )
    if headline.get("typical_error_brl_month") is not None:
        lines.append(f"erro típico: {brl(headline['typical_error_brl_month'])} por mês")
    if headline.get("prospects_scored") is not None:
        lines.append(f"{inteiro(headline['prospects_scored'])} prospects avaliados")
    return lines
