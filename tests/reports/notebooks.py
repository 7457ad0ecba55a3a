"""Tiny notebooks for rendering tests: a parameters cell, markdown, an SVG chart."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CHART = (
    "from IPython.display import SVG, display\n"
    "from flows.reports.charts import bar_chart\n"
    "display(SVG(data=bar_chart(['Bares', 'Restaurantes'], [120, 300], 'Estabelecimentos')))\n"
    "print('marcador-de-saida', run_label)"
)


def write_notebook(path: Path, fail: bool = False) -> Path:
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [
        new_markdown_cell("# Relatório de teste"),
        new_code_cell("run_label = 'padrao'", metadata={"tags": ["parameters"]}),
        new_code_cell("import sys\nprint('aviso para analistas', file=sys.stderr)"),
        new_code_cell(CHART),
    ]
    if fail:
        notebook.cells.append(new_code_cell("raise ValueError('dados ausentes')"))
    nbformat.write(notebook, path)
    return path
