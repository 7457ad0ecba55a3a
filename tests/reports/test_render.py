"""Executing and rendering a notebook (a local kernel, no other service)."""

from __future__ import annotations

import re

from flows.reports.render import execute, render_both, render_html
from flows.reports.run import from_papermill
from tests.reports.notebooks import write_notebook

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_analyst_keeps_code_marketing_shows_only_outputs(tmp_path):
    source = write_notebook(tmp_path / "in.ipynb")
    run = execute(source, tmp_path / "out.ipynb", {"run_label": "valor-injetado"})
    assert run.status == "succeeded", run.error
    again = from_papermill(run.notebook)  # what render_report sees of run_analysis's notebook
    assert again.parameters == {"run_label": "valor-injetado"} and again.status == "succeeded"
    render_both(run, "Teste")
    analyst, marketing = run.html["analyst"], run.html["marketing"]

    for page in (analyst, marketing):
        assert "<svg" in page and "Estabelecimentos" in page
        assert "marcador-de-saida valor-injetado" in page
        assert "<script" not in page  # no require.js, MathJax, Mermaid or widgets
        assert not EXTERNAL.search(page)
        assert 'name="viewport"' in page
        assert len(page.encode()) < 5 * 1024 * 1024
    assert 'jp-InputArea-editor"' in analyst  # a code cell's source
    assert "injected-parameters" in analyst
    assert 'jp-InputArea-editor"' not in marketing
    assert "jp-InputPrompt" not in marketing.split("</style>")[-1]
    assert "injected-parameters" not in marketing
    assert "aviso para analistas" in analyst
    assert "aviso para analistas" not in marketing


def test_a_failed_notebook_is_still_rendered_with_its_error(tmp_path):
    source = write_notebook(tmp_path / "in.ipynb", fail=True)
    run = execute(source, tmp_path / "out.ipynb", {})
    assert run.status == "failed"
    assert run.error.endswith("failed in cell 4: ValueError: dados ausentes"), run.error
    assert from_papermill(run.notebook).error == "ValueError: dados ausentes"
    page = render_html(run.notebook, "marketing", "Teste")
    assert "Estabelecimentos" in page  # what ran before the failure is kept


def test_a_failed_run_shows_marketing_one_plain_line_and_analysts_the_failing_cell(tmp_path):
    source = write_notebook(tmp_path / "in.ipynb", fail=True)
    run = render_both(execute(source, tmp_path / "out.ipynb", {}), "Teste")
    assert "não pôde ser gerado" in run.html["marketing"]
    for leak in ("ValueError", "Traceback", "dados ausentes", "Estabelecimentos"):
        assert leak not in run.html["marketing"]
    assert "dados ausentes" in run.html["analyst"]


def test_scratch_paths_are_hidden_from_the_no_code_version(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    notebook = new_notebook(cells=[new_code_cell("print(out)")])
    notebook.cells[0].outputs = [
        new_output("stream", name="stdout", text="saídas em /tmp/bigd-analysis-x1/record/outputs\n")
    ]
    page = render_html(nbformat.from_dict(notebook), "marketing", "Teste")
    assert "/tmp" not in page and "bigd-analysis" not in page
    assert "saídas em (pasta de trabalho da execução)" in page


def test_dataframes_of_the_no_code_version_read_for_a_reviewer():
    import numpy as np
    import pandas as pd

    from flows.reports.tidy import tidy_dataframe_html

    sorted_rows = pd.DataFrame(
        {"channel": ["bar_with_entertainment", "bar"], "trade_name": [None, "Bar do Zé"],
         "expected_revenue": [np.nan, 12.5]},
        index=[145, 12],
    )  # fmt: skip
    html = tidy_dataframe_html(sorted_rows.to_html())
    assert "NaN" not in html and "None" not in html and html.count("<td>—</td>") == 2
    assert ">145<" not in html and ">12<" not in html  # leftover row numbers dropped
    assert "Bares com entretenimento" in html and "bar_with_entertainment" not in html
    assert "receita esperada (R$/mês)" in html and "nome fantasia" in html
    labelled = pd.DataFrame({"rmse": [1.0]}, index=pd.Index(["ensemble"], name="model"))
    assert ">ensemble<" in tidy_dataframe_html(labelled.to_html())  # a label index stays
