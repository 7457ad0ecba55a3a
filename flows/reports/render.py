"""Execute a notebook with papermill and render it as two self-contained HTML pages.

* **analyst**: everything, code included, for reviewers;
* **marketing**: outputs only: no code, no prompts, no parameters cell (papermill's
  ``injected-parameters`` cell and the notebook's own ``parameters`` cell), no stderr.

Both use Big D's template (``templates/bigd``): JupyterLab's layout with the CDN scripts
(require.js, MathJax, Mermaid, widgets) removed and a phone-friendly stylesheet, so a
report opens with no network on any screen.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor
from traitlets.config import Config

from flows.notebooks import CELL_TIMEOUT_SECONDS, TIME_LIMIT_SECONDS
from flows.reports.tidy import TidyOutputs

TEMPLATE_DIR = Path(__file__).with_name("templates")
AUDIENCES = ("analyst", "marketing")
MAX_REPORT_BYTES = 5 * 1024 * 1024
HIDDEN_TAGS = ("injected-parameters", "parameters", "remove")


class DropStderr(Preprocessor):
    """Warnings and logs written to stderr are for analysts, not for marketing."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code":
            cell.outputs = [
                output
                for output in cell.get("outputs", [])
                if not (output.get("output_type") == "stream" and output.get("name") == "stderr")
            ]
        return cell, resources


def exporter(audience: str) -> HTMLExporter:
    """The HTML exporter of an audience (Big D template, no CDN)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, got {audience!r}")
    config = Config()
    config.HTMLExporter.template_name = "bigd"
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    config.HTMLExporter.embed_images = True
    config.HTMLExporter.language_code = "pt"
    if audience == "marketing":
        config.HTMLExporter.exclude_input = True
        config.HTMLExporter.exclude_input_prompt = True
        config.HTMLExporter.exclude_output_prompt = True
        config.TagRemovePreprocessor.remove_cell_tags = set(HIDDEN_TAGS)
        config.TagRemovePreprocessor.enabled = True
    html = HTMLExporter(config=config)
    if audience == "marketing":
        html.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
        html.register_preprocessor(DropStderr(), enabled=True)
        html.register_preprocessor(TidyOutputs(), enabled=True)
    return html


def render_html(notebook: nbformat.NotebookNode, audience: str, title: str) -> str:
    """One self-contained HTML page; raises if it exceeds 5 MB."""
    body, _ = exporter(audience).from_notebook_node(
        notebook, resources={"metadata": {"name": title}}
    )
    size = len(body.encode())
    if size > MAX_REPORT_BYTES:
        raise ValueError(f"{title} ({audience}) is {size / 1e6:.1f} MB, over the 5 MB limit")
    return body


@dataclass
class ExecutedNotebook:
    """The outcome of one papermill run: the output notebook even when a cell failed."""

    notebook: nbformat.NotebookNode
    parameters: dict[str, Any]
    started_at: dt.datetime
    duration_seconds: float
    error: str | None = None
    html: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "failed" if self.error else "succeeded"


def execute(
    input_path: Path,
    output_path: Path,
    parameters: dict[str, Any],
    cell_timeout: float = CELL_TIMEOUT_SECONDS,
    time_limit: float = TIME_LIMIT_SECONDS,
) -> ExecutedNotebook:
    """Run the notebook through the one notebook runner (``flows.notebooks``); a failing
    cell is recorded, not raised (the output notebook keeps what ran)."""
    from flows import notebooks

    started_at = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    error = None
    try:
        notebooks.execute(
            input_path, output_path, parameters, cell_timeout=cell_timeout, time_limit=time_limit
        )
    except notebooks.NotebookFailed as failure:
        error = str(failure)
    except Exception as failure:  # a bad parameter, a kernel that would not start, ...
        error = "".join(traceback.format_exception_only(failure)).strip()
    if not output_path.exists():
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)
    notebook = nbformat.read(output_path, as_version=4)
    return ExecutedNotebook(
        notebook=notebook,
        parameters=parameters,
        started_at=started_at,
        duration_seconds=round(time.perf_counter() - clock, 2),
        error=error,
    )


FAILED_PAGE = """<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
max-width:720px;padding:16px;color:#1a1a1a}}.failed{{color:#b3261e}}</style></head><body>
<h1>{title}</h1><p class="failed"><strong>Este relatório não pôde ser gerado nesta execução
({day}).</strong></p><p>A última versão concluída continua no
<a href="../../../index.html">índice de relatórios</a>, em "Últimas versões". A equipe de
dados tem os detalhes técnicos na versão do analista.</p>
</body></html>"""


def failed_page(title: str, started_at: dt.datetime) -> str:
    """What a marketing reader sees of a failed run: one plain line, no traceback, no
    half-rendered sections promising tables that are not there."""
    return FAILED_PAGE.format(title=escape(title), day=f"{started_at:%d/%m/%Y %H:%M} UTC")


def render_both(run: ExecutedNotebook, title: str) -> ExecutedNotebook:
    """Fill ``run.html`` with the analyst and marketing pages (a failed run's marketing
    page is ``failed_page``; the analyst page keeps the failing cell)."""
    run.html["analyst"] = render_html(run.notebook, "analyst", title)
    run.html["marketing"] = (
        failed_page(title, run.started_at)
        if run.error
        else render_html(run.notebook, "marketing", title)
    )
    return run
