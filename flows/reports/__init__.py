"""Rendered reports: papermill execution, nbconvert HTML (analyst and marketing), the
archive in the lake with its index, Brazilian number formats and inline-SVG charts."""

from flows.reports.archive import ReportStore, report_store
from flows.reports.render import AUDIENCES, ExecutedNotebook, execute, render_both, render_html

__all__ = [
    "AUDIENCES",
    "ExecutedNotebook",
    "ReportStore",
    "execute",
    "render_both",
    "render_html",
    "report_store",
]
