"""Tables and texts of the no-code version, tidied for a reader who does not code.

pandas' HTML of a DataFrame shows ``NaN``/``None`` for a missing value, the row index
(``0, 1, 2`` or the row numbers left over after a sort) and raw channel codes
(``bar_with_entertainment``); a temporary path printed by a cell names a folder that is
gone. In the no-code version (``render.exporter("marketing")``):

* a missing value reads ``—``;
* an integer row index without a name is dropped (a named or labelled index, such as
  the models of a score table, stays: it is the row's label);
* a channel code reads as its business label, a known column name in Portuguese;
* a run's scratch path reads ``(pasta de trabalho da execução)``.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor

from flows.reports.formatting import MISSING
from flows.reports.prospects import CHANNELS_PT

SCRATCH_PATH = re.compile(r"(?:/private)?(?:/tmp|/var/folders/[^\s'\"]+?)/bigd-[^\s'\"<>]*")
SCRATCH_TEXT = "(pasta de trabalho da execução)"
MISSING_CELL = re.compile(r"<(td|th)([^>]*)>\s*(?:NaN|None|NaT|&lt;NA&gt;|nan)\s*</\1>")
CHANNEL_CELL = re.compile(
    r"<(td|th)([^>]*)>\s*(" + "|".join(map(re.escape, CHANNELS_PT)) + r")\s*</\1>"
)
HEADERS = {
    "channel": "canal",
    "category": "categoria",
    "city": "cidade",
    "neighbourhood": "bairro",
    "establishments": "estabelecimentos",
    "customers": "clientes",
    "prospects": "prospects",
    "rows": "linhas",
    "median_value": "valor mediano (R$)",
    "trade_name": "nome fantasia",
    "legal_name": "razão social",
    "likelihood": "chance",
    "p_convert": "P(virar cliente)",
    "mean_p_convert": "P média (virar cliente)",
    "expected_spend": "compra esperada (R$/mês)",
    "expected_revenue": "receita esperada (R$/mês)",
    "revenue_low": "mínimo (R$/mês)",
    "revenue_high": "máximo (R$/mês)",
    "predicted_value": "potencial previsto (R$/mês)",
    "predicted_low": "mínimo (R$/mês)",
    "predicted_high": "máximo (R$/mês)",
    "observed_sales": "vendas observadas (R$/mês)",
    "share_called": "parte da lista chamada",
    "customers_reached": "clientes alcançados",
    "revenue_reached": "receita alcançada",
    "rank": "nº",
}
HEADER_CELL = re.compile(r"<th([^>]*)>\s*(" + "|".join(map(re.escape, HEADERS)) + r")\s*</th>")
ROW_HEADER = re.compile(r"(<tr[^>]*>\s*)<th[^>]*>([^<]*)</th>")
TBODY = re.compile(r"<tbody>.*?</tbody>", re.S)
THEAD = re.compile(r"<thead>.*?</thead>", re.S)


def _drop_integer_index(table: str) -> str:
    """Remove the row-index column when every row header is a bare integer."""
    body = TBODY.search(table)
    if body is None:
        return table
    headers = ROW_HEADER.findall(body.group(0))
    if not headers or not all(label.strip().lstrip("-").isdigit() for _, label in headers):
        return table
    head = THEAD.search(table)
    if head is not None and len(re.findall(r"<tr", head.group(0))) > 1:
        return table  # a named index has its own header row: keep it
    new_body = ROW_HEADER.sub(r"\1", body.group(0))
    table = table.replace(body.group(0), new_body)
    if head is not None:  # the empty corner cell above the index
        new_head = re.sub(r"(<tr[^>]*>\s*)<th[^>]*>\s*</th>", r"\1", head.group(0), count=1)
        table = table.replace(head.group(0), new_head)
    return table


def tidy_dataframe_html(html: str) -> str:
    """A pandas DataFrame's HTML for a reader: missing as —, no bare integer index,
    channel codes as labels."""
    if 'class="dataframe' not in html:
        return html
    html = MISSING_CELL.sub(rf"<\1\2>{MISSING}</\1>", html)
    html = CHANNEL_CELL.sub(lambda m: f"<{m[1]}{m[2]}>{CHANNELS_PT[m[3]]}</{m[1]}>", html)
    html = HEADER_CELL.sub(lambda m: f"<th{m[1]}>{HEADERS[m[2]]}</th>", html)
    return re.sub(r"<table\b.*?</table>", lambda m: _drop_integer_index(m[0]), html, flags=re.S)


class TidyOutputs(Preprocessor):
    """Applies the rules above to every output of the no-code version."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if "text" in output:
                output["text"] = SCRATCH_PATH.sub(SCRATCH_TEXT, output["text"])
            data = output.get("data", {})
            for mime in ("text/plain", "text/html", "text/markdown"):
                if isinstance(data.get(mime), str):
                    data[mime] = SCRATCH_PATH.sub(SCRATCH_TEXT, data[mime])
            if isinstance(data.get("text/html"), str):
                data["text/html"] = tidy_dataframe_html(data["text/html"])
        return cell, resources
