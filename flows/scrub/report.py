"""The scrub report: counts of what was removed or transformed, never the values."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ReportKey = tuple[str, str, str, str]  # dataset, column, detector, action


@dataclass
class ScrubReport:
    """Counts per (dataset, column, detector, action), plus rows seen per dataset."""

    counts: Counter[ReportKey] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)

    @classmethod
    def empty(cls) -> ScrubReport:
        """A report with nothing counted."""
        return cls()

    def add(self, dataset: str, column: str, detector: str, action: str, count: int) -> None:
        """Count ``count`` values of ``column`` handled by ``detector`` with ``action``."""
        self.counts[(dataset, column, detector, action)] += int(count)

    def merge(self, other: ScrubReport) -> ScrubReport:
        """A new report with both reports' counts summed."""
        merged = ScrubReport(Counter(self.counts), Counter(self.rows))
        merged.counts.update(other.counts)
        merged.rows.update(other.rows)
        return merged

    def count(
        self,
        dataset: str | None = None,
        column: str | None = None,
        detector: str | None = None,
        action: str | None = None,
    ) -> int:
        """Sum of the counts matching the given parts of the key."""
        wanted = (dataset, column, detector, action)
        return sum(
            value
            for key, value in self.counts.items()
            if all(part is None or part == got for part, got in zip(wanted, key, strict=True))
        )

    def to_rows(self) -> list[dict]:
        """One dict per counted key, sorted, ready for a Prefect table artifact."""
        return [
            {
                "dataset": dataset,
                "column": column,
                "detector": detector,
                "action": action,
                "count": count,
                "rows_in_dataset": self.rows[dataset],
            }
            for (dataset, column, detector, action), count in sorted(self.counts.items())
        ]

    def log(self, log: logging.Logger | logging.LoggerAdapter = logger) -> None:
        """Log one line per dataset with its non-zero counts."""
        for dataset in sorted(self.rows):
            parts = [
                f"{column}/{detector}/{action}={count}"
                for (name, column, detector, action), count in sorted(self.counts.items())
                if name == dataset and count
            ]
            log.info("scrub %s: %d rows; %s", dataset, self.rows[dataset], ", ".join(parts) or "-")


def artifact_key(text: str) -> str:
    """A valid Prefect artifact key (lowercase letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "scrub-report"


def publish_scrub_report(report: ScrubReport, key: str = "scrub-report") -> None:
    """Log the report and publish it as a Prefect table artifact (inside a flow or task run)."""
    from prefect import get_run_logger
    from prefect.artifacts import create_table_artifact
    from prefect.exceptions import MissingContextError

    try:
        report.log(get_run_logger())
    except MissingContextError:
        report.log()
    create_table_artifact(
        key=artifact_key(key),
        table=report.to_rows(),
        description="Personal-data scrub: counts of values removed or transformed "
        "per dataset, column, detector and action (never the values).",
    )
