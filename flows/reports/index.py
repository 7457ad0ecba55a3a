"""``reports/index.html``: every archived run, newest first, built from the manifests.

A plain self-contained page (inline CSS, no script) that a phone can read: date,
notebook, status, headline metrics and links to each run's files, relative to the index
so it works from a folder and from S3 alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from flows.contracts import ReportManifest
from flows.layout import ANALYSIS, REPORT_MANIFEST, REPORTS_PREFIX
from flows.reports.formatting import numero, percentual

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:12px;color:#1a1a1a}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #ddd;vertical-align:top}
.ok{color:#1e7b34;font-weight:600}.failed{color:#b3261e;font-weight:600}
.error{color:#b3261e;font-size:.85em;white-space:pre-wrap}
.metrics{font-size:.9em}.stages{font-size:.8em;color:#555}a{margin-right:.6em}
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


STAGE_LABELS = {
    "notebook": "notebook",
    "mart": "mart",
    "publish": "publicação",
    "reports": "relatórios",
}


def stages_text(manifest: ReportManifest) -> str:
    """The stages an analysis run completed, exactly as its manifest records them."""
    return " · ".join(
        f"{label} {'✓' if stage in manifest.stages else '—'}"
        for stage, label in STAGE_LABELS.items()
        if manifest.notebook == ANALYSIS or stage in manifest.stages
    )


def _row(manifest: ReportManifest) -> str:
    folder = manifest.folder.removeprefix(f"{REPORTS_PREFIX}/")
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
    badge = (
        '<span class="ok">concluído</span>'
        if manifest.succeeded
        else '<span class="failed">falhou</span>'
    )
    badge += f'<div class="stages">{escape(stages_text(manifest))}</div>'
    if manifest.error:
        badge += f'<div class="error">{escape(manifest.error)}</div>'
    metrics = "<br>".join(
        escape(metric_text(name, value)) for name, value in manifest.headline.items()
    )
    return (
        f"<tr><td>{escape(manifest.report_date)}</td>"
        f"<td>{escape(manifest.notebook)}<br><small>{escape(manifest.run_id)}</small></td>"
        f"<td>{badge}</td><td class='metrics'>{metrics or '—'}</td><td>{link_html}</td></tr>"
    )


def index_html(manifests: Iterable[ReportManifest], latest: dict[str, str]) -> str:
    """The index page of committed runs; ``latest``: notebook → key of its stable latest
    page (relative), only for notebooks with a succeeded run."""
    ordered = sorted(manifests, key=lambda m: (m.report_date, m.started_at), reverse=True)
    rows = "".join(_row(manifest) for manifest in ordered)
    latest_links = "".join(
        f'<li><a href="{escape(path)}">{escape(notebook)}</a></li>'
        for notebook, path in sorted(latest.items())
    )
    return (
        '<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Big D: relatórios</title><style>{STYLE}</style></head><body>"
        "<h1>Big D: relatórios</h1>"
        f"<h2>Últimas versões</h2><ul>{latest_links or '<li>nenhuma ainda</li>'}</ul>"
        f"<h2>Todas as execuções ({len(ordered)})</h2>"
        "<table><thead><tr><th>data</th><th>notebook</th><th>situação</th>"
        "<th>métricas principais</th><th>arquivos</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )
