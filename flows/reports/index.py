"""``reports/index.html``: the front door of the reports, built from the manifests.

A plain self-contained page in Portuguese (inline CSS, no script) that a phone can read:
first one entry per audience (marketing: the infographic; analysts: the analysis with
its validation and model card), linking the newest *successful* run; then every run,
newest first, with a plain line for a failed one and links to its files, relative to the
index so it works from a folder and from S3 alike. No RMSE or R² here: marketing opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from flows.contracts import ReportManifest
from flows.layout import ANALYSIS, REPORT_MANIFEST, REPORTS_PREFIX, latest_page_key
from flows.reports.formatting import numero, percentual
from flows.reports.marketing import headline_text

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:12px;color:#1a1a1a}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #ddd;vertical-align:top}
.ok{color:#1e7b34;font-weight:600}.failed{color:#b3261e;font-weight:600}
.error{color:#b3261e;font-size:.85em;white-space:pre-wrap}
.metrics{font-size:.9em}.stages{font-size:.8em;color:#555}a{margin-right:.6em}
.door{border:1px solid #ddd;border-radius:8px;padding:4px 12px;margin:8px 0}
.door h3{margin:.4em 0;color:#1b4f72}
@media (max-width:640px){thead{display:none}tr{display:block;border-bottom:2px solid #bbb;
padding:6px 0}td{display:block;border:0;padding:3px 0}}
"""
LABELS = {
    "ensemble_rmse": "RMSE do ensemble",
    "baseline_rmse": "RMSE de referência",
    "improvement_vs_baseline": "ganho sobre a referência",
    "ensemble_r2": "R² do ensemble",
    "prospects_scored": "prospects pontuados",
}


def metric_text(name: str, value: Any) -> str:
    """A headline metric in Portuguese with Brazilian number format."""
    label = LABELS.get(name, name.replace("_", " "))
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = str(value)
    elif name.startswith("improvement") or name.endswith("_share"):
        shown = percentual(value)
    elif isinstance(value, int):
        shown = numero(value)
    else:
        shown = numero(value, 3)
    return f"{label}: {shown}"


FRONT_DOORS = {
    # notebook: (audience, title, what it answers)
    "infographic": (
        "Para marketing e vendas",
        "Infográfico: quem ligar primeiro e onde está a demanda",
        "Lista numerada de prospects por receita esperada (R$ por mês), por UF, canal e "
        "bairro, em português simples.",
    ),
    ANALYSIS: (
        "Para analistas",
        "Análise de demanda: modelo, validação e ficha do modelo",
        "Como o modelo foi treinado e validado, quanto ele erra, a ficha do modelo e o "
        "notebook completo.",
    ),
}
MODEL_CARD_ANCHOR = "Ficha-do-modelo"  # nbconvert's id of the notebook's "## Ficha do modelo"
FAILED_LINE = "A execução falhou; a última versão concluída continua em “Últimas versões”."
STAGE_LABELS = {
    "notebook": "notebook",
    "mart": "mart",
    "publish": "publicação",
    "reports": "relatórios",
}


def day(iso: str) -> str:
    """``2026-11-30`` → ``30/11/2026``."""
    year, month, date = [*iso.split("-"), "", ""][:3]
    return f"{date}/{month}/{year}" if date else iso


def _order(manifest: ReportManifest) -> tuple[str, str]:
    return manifest.report_date, manifest.started_at


def newest_succeeded(manifests: Iterable[ReportManifest]) -> dict[str, ReportManifest]:
    """Per notebook, the newest run whose manifest says it succeeded."""
    newest: dict[str, ReportManifest] = {}
    for manifest in sorted(manifests, key=_order):
        if manifest.succeeded:
            newest[manifest.notebook] = manifest
    return newest


def stages_text(manifest: ReportManifest) -> str:
    """The stages an analysis run completed, exactly as its manifest records them."""
    return " · ".join(
        f"{label} {'✓' if stage in manifest.stages else '—'}"
        for stage, label in STAGE_LABELS.items()
        if manifest.notebook == ANALYSIS or stage in manifest.stages
    )


def _relative(key: str) -> str:
    return key.removeprefix(f"{REPORTS_PREFIX}/")


def _door(notebook: str, manifest: ReportManifest) -> str:
    audience, title, what = FRONT_DOORS.get(
        notebook, ("Outros relatórios", notebook.replace("_", " "), "")
    )
    page = _relative(latest_page_key(notebook))
    links = [f'<a href="{escape(page)}">abrir a versão mais recente</a>']
    if notebook == ANALYSIS:
        analyst = _relative(latest_page_key(notebook, "analyst"))
        links.append(f'<a href="{escape(analyst)}">com o código</a>')
        # the card rendered at the end of the page (the .md file is for machines)
        links.append(f'<a href="{escape(page)}#{MODEL_CARD_ANCHOR}">ficha do modelo</a>')
    return (
        f'<section class="door"><h3>{escape(audience)}</h3><p><strong>{escape(title)}</strong>'
        f"<br>{escape(what)}</p><p>{''.join(links)}</p>"
        f"<p><small>atualizado em {escape(day(manifest.report_date))}</small></p></section>"
    )


def _row(manifest: ReportManifest) -> str:
    folder = _relative(manifest.folder)
    files = manifest.files
    links = [
        ("relatório", files.marketing_html),
        ("versão do analista", files.analyst_html),
        ("notebook", files.notebook),
        ("manifesto", REPORT_MANIFEST),
    ]
    link_html = "".join(
        f'<a href="{escape(folder)}/{escape(name)}">{escape(text)}</a>' for text, name in links
    )
    if manifest.succeeded:
        badge = '<span class="ok">concluído</span>'
    else:  # the technical error is in the manifest and the analyst page, not here
        badge = f'<span class="failed">falhou</span><div class="error">{escape(FAILED_LINE)}</div>'
    badge += f'<div class="stages">{escape(stages_text(manifest))}</div>'
    lines = headline_text(dict(manifest.headline))
    metrics = "<br>".join(escape(line) for line in lines)
    name = FRONT_DOORS.get(manifest.notebook, ("", manifest.notebook))[1].split(":")[0]
    return (
        f"<tr><td>{escape(day(manifest.report_date))}</td>"
        f"<td>{escape(name)}<br><small>{escape(manifest.run_id)}</small></td>"
        f"<td>{badge}</td><td class='metrics'>{metrics or '—'}</td><td>{link_html}</td></tr>"
    )


def index_html(manifests: Iterable[ReportManifest]) -> str:
    """The index page of committed runs: one front door per audience (the newest
    succeeded run of each report, linked through its stable ``latest/`` page), then every
    run, newest first, failed ones marked in one plain line."""
    ordered = sorted(manifests, key=_order, reverse=True)
    newest = newest_succeeded(ordered)
    known = [name for name in FRONT_DOORS if name in newest]
    doors = "".join(_door(name, newest[name]) for name in known + sorted(set(newest) - set(known)))
    rows = "".join(_row(manifest) for manifest in ordered)
    return (
        '<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Big D: relatórios</title><style>{STYLE}</style></head><body>"
        "<h1>Big D: relatórios</h1>"
        "<p>Dois relatórios, para dois públicos. Os links de “Últimas versões” sempre "
        "mostram a última execução concluída.</p>"
        f"<h2>Últimas versões</h2>{doors or '<p>Nenhuma execução concluída ainda.</p>'}"
        f"<h2>Todas as execuções ({len(ordered)})</h2>"
        "<table><thead><tr><th>data</th><th>relatório</th><th>situação</th>"
        "<th>destaques</th><th>arquivos</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )
