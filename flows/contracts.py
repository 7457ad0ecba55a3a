"""The typed records flows and stages hand each other: one schema each.

A renamed field fails the type check (``mypy``, run by ``scripts/test``) and, on data
read back from the lake, pydantic's validation: never a production run half-way.

- :class:`ReportManifest`: ``reports/<notebook>/<date>/<run-id>/manifest.json``. It is a
  run's **commit point**: written last, after every file of the run. Everything
  downstream (delivery's default run, ``reports/latest/``, the index, scheduled
  re-renders) reads only runs whose manifest says ``succeeded``; a run killed before
  its manifest does not exist for them. ``stages`` lists what the run completed.
- :class:`ReportRecord`: the ``bigd.reports`` payload, where an archived run is.
- :class:`DeliveryEntry`: one line of the delivery ledger (``state/publish/``).
- :class:`AnalysisTotals`: what ``run_analysis`` hands the delivery (``RunSummary.totals``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["succeeded", "failed"]
# What an analysis run does, in order; a report run (the infographic) has "reports" only.
Stage = Literal["notebook", "mart", "publish", "reports"]
ANALYSIS_STAGES: tuple[Stage, ...] = ("notebook", "mart", "reports")  # before delivery
Metric = float | int | str | bool | None


class _Record(BaseModel):
    # Old manifests may carry keys a later version dropped; a missing key still fails.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReportFiles(_Record):
    """The files of a run folder, relative to it."""

    notebook: str
    analyst_html: str = "analyst.html"
    marketing_html: str = "marketing.html"
    outputs: list[str] = Field(default_factory=list)


class ReportManifest(_Record):
    """One archived run: parameters, status, the stages it completed, where its files are."""

    notebook: str
    run_id: str
    report_date: str  # YYYY-MM-DD (UTC) of the start: the run folder's date
    started_at: str
    duration_seconds: float
    status: RunStatus
    error: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    headline: dict[str, Metric] = Field(default_factory=dict)
    folder: str
    files: ReportFiles
    stages: list[Stage] = Field(default_factory=list)
    analysis_dir: str = ""  # the analysis output folder the report was made from

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def with_stage(self, stage: Stage) -> ReportManifest:
        """The same manifest with ``stage`` completed (e.g. ``publish`` after delivery)."""
        if stage in self.stages:
            return self
        return self.model_copy(update={"stages": [*self.stages, stage]})

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=2).encode()


class ReportRecord(_Record):
    """The ``bigd.reports`` payload of an archived run: where to find it."""

    notebook: str
    report_date: str
    status: RunStatus
    analyst_html: str
    marketing_html: str
    manifest: str
    index: str
    headline: dict[str, Metric] = Field(default_factory=dict)
    error: str | None = None
    stages: list[Stage] = Field(default_factory=list)


class DeliveryEntry(_Record):
    """The delivery ledger's record of one run's messages to one topic, written only
    after every one of them was acknowledged."""

    run_id: str
    topic: str
    messages: int
    target: str
    delivered_at: str


class AnalysisTotals(_Record):
    """What ``run_analysis`` reports, and hands to the delivery."""

    run_id: str
    report: str  # URI of the executed notebook in the lake
    outputs: str  # lake key of the output folder
    manifest: str  # lake key of the run's manifest (its commit point)
    release: str | None = None
    window: dict[str, Any] = Field(default_factory=dict)
    headline: dict[str, Metric] = Field(default_factory=dict)
    ensemble_weights: dict[str, float] = Field(default_factory=dict)
    mart_rows: dict[str, int] = Field(default_factory=dict)
    stages: list[Stage] = Field(default_factory=list)
