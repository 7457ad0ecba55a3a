"""What a run of the public ingestion did, dataset by dataset, as one ``RunSummary``.

The flow only records an outcome per dataset; how a run reads (the console line, the
artifact table, the merged scrub counts) is decided here, like every other run summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.runs import RunSummary, merge_scrub_reports
from flows.scrub.report import ScrubReport

FLOW = "ingest_public"


@dataclass
class DatasetOutcome:
    """One dataset of the run: written (``ok``) or ``failed`` with the reason."""

    dataset: str
    rows: int = 0
    status: str = "ok"
    message: str = ""
    trusted_key: str = ""
    scrub: ScrubReport | None = None

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def run_summary(outcomes: Sequence[DatasetOutcome]) -> RunSummary:
    """The run's line (``public: ok a (n rows); failed b``, "failed" only when one did),
    one row per dataset, scrub counts."""
    ok = [f"{o.dataset} ({o.rows:,} rows)" for o in outcomes if not o.failed]
    failed = [o.dataset for o in outcomes if o.failed]
    return RunSummary(
        flow=FLOW,
        line=f"public: ok {', '.join(ok) or '-'}"
        + (f"; failed {', '.join(failed)}" if failed else ""),
        rows=[
            {
                "dataset": o.dataset,
                "rows": o.rows,
                "status": o.status,
                "message": o.message,
                "trusted_key": o.trusted_key,
            }
            for o in outcomes
        ],
        totals={
            "datasets": len(outcomes),
            "rows": sum(o.rows for o in outcomes),
            "failed": len(failed),
        },
        scrub=merge_scrub_reports(o.scrub for o in outcomes),
        description="Public datasets ingested: rows written to trusted/public, or why not.",
    )
