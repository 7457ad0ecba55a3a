"""The scrub report: counts of what was removed or transformed, never the values.

Publishing it is not this package's job (it stays free of Prefect): a flow puts it in its
``flows.runs.RunSummary(scrub=...)`` and calls ``flows.run_artifacts.publish_run``.
"""

from __future__ import annotations

import logging
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
