"""One shape for "what did this run do?", and one publisher of it.

Every flow ends by building a :class:`RunSummary` (one line for the console and the log,
a table of rows for the Prefect UI, the scrub counts when it scrubbed) and calling
:func:`flows.run_artifacts.publish_run`. Artifact keys are ``<flow>`` and ``<flow>-scrub``
(plus a subject such as the release when a flow has one), lowercase with dashes, so the UI
shows the history of each flow under one key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.scrub.report import ScrubReport


@dataclass
class RunSummary:
    """What one flow run did."""

    flow: str  # e.g. "ingest_cnpj"
    line: str  # one readable line: the headline numbers
    rows: list[dict[str, Any]] = field(default_factory=list)  # per file / table / day
    totals: dict[str, Any] = field(default_factory=dict)  # machine-readable headline numbers
    scrub: ScrubReport | None = None
    subject: str | None = None  # e.g. the CNPJ release
    description: str = ""

    def __str__(self) -> str:
        return self.line

    @property
    def artifact_key(self) -> str:
        return artifact_key(self.flow if not self.subject else f"{self.flow}-{self.subject}")


def artifact_key(text: str) -> str:
    """A valid Prefect artifact key (lowercase letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "run"


def merge_scrub_reports(reports: Iterable[ScrubReport | None]) -> ScrubReport:
    """All the reports' counts summed (``None`` entries skipped)."""
    merged = ScrubReport.empty()
    for report in reports:
        if report is not None:
            merged = merged.merge(report)
    return merged


def table_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with one set of columns (Prefect's table artifact needs equal keys)."""
    rows = [dict(row) for row in rows]
    columns: list[str] = []
    for row in rows:
        columns.extend(name for name in row if name not in columns)
    return [{name: row.get(name, "") for name in columns} for row in rows]
