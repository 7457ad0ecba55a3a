"""The report archive in the lake.

    reports/<notebook>/<YYYY-MM-DD>/<run-id>/
        <notebook>.ipynb      the executed notebook: the record of the run
        analyst.html          code kept
        marketing.html        outputs only
        outputs/...           the analysis output files the report was made from
        manifest.json         parameters, status, stages, duration, headline, error:
                              the run's commit point, written last (flows.contracts)
    reports/latest/<notebook>.html           the newest succeeded marketing version
    reports/latest/<notebook>.analyst.html   the newest succeeded analyst version
                                             (a failed run never touches latest/)
    reports/index.html                       every committed run, rebuilt from the manifests

On S3 each object is written with boto3 so it carries its ``Content-Type`` (HTML as
``text/html; charset=utf-8``, opened by a browser instead of downloaded) and
server-side encryption (pyarrow's S3 streams set the content type but silently drop
the encryption header, checked against moto).
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from typing import Any

from pydantic import ValidationError

from flows import layout
from flows.contracts import Metric, ReportFiles, ReportManifest, Stage
from flows.lake import Lake
from flows.reports.index import index_html
from flows.reports.render import ExecutedNotebook

log = logging.getLogger(__name__)
REPORTS_PREFIX = layout.REPORTS_PREFIX
HTML = "text/html; charset=utf-8"
SERVER_SIDE_ENCRYPTION = "AES256"


def content_type(key: str) -> str:
    if key.endswith(".html"):
        return HTML
    if key.endswith((".json", ".ipynb")):
        return "application/json"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class ReportStore:
    """Writes report runs, the latest pages and the index into a lake."""

    def __init__(self, lake: Lake, s3_client: Any | None = None) -> None:
        self.lake = lake
        self.s3_client = s3_client
        if not lake.is_local and s3_client is None:
            raise ValueError("an S3 lake needs an s3_client (see report_store())")

    def put(self, key: str, data: bytes) -> None:
        """One object, with its content type and, on S3, server-side encryption."""
        if self.lake.is_local:  # a reader (or a killed run) never sees half a page
            layout.write_bytes_atomically(self.lake, key, data)
            return
        bucket, _, object_key = self.lake.path(key).partition("/")
        assert self.s3_client is not None  # the constructor requires one for S3
        self.s3_client.put_object(
            Bucket=bucket,
            Key=object_key,
            Body=data,
            ContentType=content_type(key),
            ServerSideEncryption=SERVER_SIDE_ENCRYPTION,
        )

    @staticmethod
    def run_date(run: ExecutedNotebook) -> str:
        """The date of a run's folder: the UTC day it started."""
        started = run.started_at
        if started.tzinfo is not None:
            started = started.astimezone(dt.UTC)
        return started.date().isoformat()

    @staticmethod
    def folder(notebook: str, report_date: str, run_id: str) -> str:
        return layout.report_folder(notebook, report_date, run_id)

    def archive(
        self,
        notebook: str,
        run_id: str,
        run: ExecutedNotebook,
        notebook_bytes: bytes,
        outputs: dict[str, bytes] | None = None,
        headline: dict[str, Metric] | None = None,
        *,
        stages: list[Stage] | None = None,
        error: str | None = None,
        analysis_dir: str = "",
        report_date: str | None = None,
        kept: frozenset[str] = frozenset(),
        notebook_file: str | None = None,
    ) -> ReportManifest:
        """Archive one run (failed runs too): its files first, its manifest last (the
        commit point); then, for a succeeded run, the latest pages; then the index.

        ``stages``: what the run completed (default: ``notebook`` if it succeeded, and
        ``reports``); ``error``: a later stage's failure, which fails the run;
        ``report_date``: the run folder's date when the caller already chose it;
        ``kept``: files (relative to the run folder) already there, e.g. the notebook and
        outputs the analysis flow kept, recorded but not written twice."""
        report_date = report_date or self.run_date(run)
        folder = self.folder(notebook, report_date, run_id)
        manifest_key = layout.report_manifest_key(folder)
        self.withdraw(folder)  # a re-run of a run id: not committed while it is rewritten
        error = run.error or error
        if stages is None:
            stages = ["reports"] if run.error else ["notebook", "reports"]
        manifest = ReportManifest(
            notebook=notebook,
            run_id=run_id,
            report_date=report_date,
            started_at=run.started_at.isoformat(),
            duration_seconds=run.duration_seconds,
            status="failed" if error else "succeeded",
            error=error,
            parameters=run.parameters,
            headline=headline or {},
            folder=folder,
            files=ReportFiles(
                notebook=notebook_file or f"{notebook}.ipynb",
                outputs=sorted(f"{layout.OUTPUTS}/{name}" for name in outputs or {}),
            ),
            stages=stages,
            analysis_dir=analysis_dir,
        )
        if manifest.files.notebook not in kept:
            self.put(f"{folder}/{manifest.files.notebook}", notebook_bytes)
        for name, data in (outputs or {}).items():
            if f"{layout.OUTPUTS}/{name}" not in kept:
                self.put(f"{layout.outputs_prefix(folder)}/{name}", data)
        self.put(f"{folder}/{manifest.files.analyst_html}", run.html["analyst"].encode())
        self.put(f"{folder}/{manifest.files.marketing_html}", run.html["marketing"].encode())
        self.put(manifest_key, manifest.to_json())  # the commit point: written last
        if manifest.succeeded:  # latest/ always shows the last good, committed run
            self.put(layout.latest_page_key(notebook), run.html["marketing"].encode())
            self.put(layout.latest_page_key(notebook, "analyst"), run.html["analyst"].encode())
        self.write_index()
        return manifest

    def withdraw(self, folder: str) -> bool:
        """Un-commit a run folder before its run id is run again (an explicit re-run):
        its manifest is removed first, so nothing downstream reads the folder while its
        files are replaced; the index is rebuilt. True when there was one."""
        key = layout.report_manifest_key(folder)
        if not self.lake.exists(key):
            return False
        self.lake.delete(key)
        self.write_index()
        return True

    def mark_stage(self, manifest: ReportManifest, stage: Stage) -> ReportManifest:
        """Record a stage completed after the run committed (``publish``, by delivery)."""
        updated = manifest.with_stage(stage)
        if updated is not manifest:
            self.put(layout.report_manifest_key(manifest.folder), updated.to_json())
            self.write_index()
        return updated

    def manifests(self) -> list[ReportManifest]:
        """Every committed run's manifest (a run killed before it has none: not listed)."""
        found = []
        for obj in self.lake.list(REPORTS_PREFIX):
            if not layout.is_report_manifest_key(obj.key):
                continue
            try:
                found.append(ReportManifest.model_validate_json(self.lake.read_bytes(obj.key)))
            except ValidationError as error:  # a manifest of an older shape: say so, skip it
                log.warning("%s is not a report manifest (%d errors)", obj.key, error.error_count())
        return found

    def succeeded(self, notebook: str) -> list[ReportManifest]:
        """The succeeded runs of ``notebook``, newest first (by date, then start time)."""
        runs = [m for m in self.manifests() if m.notebook == notebook and m.succeeded]
        return sorted(runs, key=lambda m: (m.report_date, m.started_at), reverse=True)

    def manifest_of(self, folder: str) -> ReportManifest | None:
        """The manifest of a run folder, or None when the run never committed."""
        key = layout.report_manifest_key(folder)
        if not self.lake.exists(key):
            return None
        return ReportManifest.model_validate_json(self.lake.read_bytes(key))

    def write_index(self) -> str:
        """Rebuild ``reports/index.html`` from all manifests; returns its key."""
        self.put(layout.REPORTS_INDEX, index_html(self.manifests()).encode())
        return layout.REPORTS_INDEX

    def uri(self, key: str) -> str:
        return self.lake.uri(key)


def report_store(lake: Lake, s3_endpoint_url: str | None = None) -> ReportStore:
    """The store of a lake: a folder needs nothing; S3 gets a boto3 client."""
    if lake.is_local:
        return ReportStore(lake)
    import boto3

    return ReportStore(lake, boto3.client("s3", endpoint_url=s3_endpoint_url))
