"""The report archive in the lake.

    reports/<notebook>/<YYYY-MM-DD>/<run-id>/
        <notebook>.ipynb      the executed notebook: the record of the run
        analyst.html          code kept
        marketing.html        outputs only
        outputs/...           the analysis output files the report was made from
        manifest.json         parameters, status, duration, headline metrics, error
    reports/latest/<notebook>.html           the newest SUCCESSFUL marketing version
    reports/latest/<notebook>.analyst.html   the newest successful analyst version
                                             (a failed run never touches latest/)
    reports/index.html                       every run, rebuilt from all manifests

On S3 each object is written with boto3 so it carries its ``Content-Type`` (HTML as
``text/html; charset=utf-8``, opened by a browser instead of downloaded) and
server-side encryption (pyarrow's S3 streams set the content type but silently drop
the encryption header, checked against moto).
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from flows import layout
from flows.lake import Lake
from flows.reports.index import index_html
from flows.reports.render import ExecutedNotebook

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

    def __init__(self, lake: Lake, s3_client: Any | None = None):
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
        self.s3_client.put_object(
            Bucket=bucket,
            Key=object_key,
            Body=data,
            ContentType=content_type(key),
            ServerSideEncryption=SERVER_SIDE_ENCRYPTION,
        )

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
        headline: dict[str, Any] | None = None,
        kept: frozenset[str] = frozenset(),
        notebook_file: str | None = None,
    ) -> dict[str, Any]:
        """Archive one run (failed runs too); update the index, and the latest pages if
        it succeeded. ``kept``: files (relative to the run folder) already there, e.g. the
        notebook and outputs the analysis flow kept, not written twice."""
        report_date = run.started_at.date().isoformat()
        folder = self.folder(notebook, report_date, run_id)
        files = {
            "notebook": notebook_file or f"{notebook}.ipynb",
            "analyst_html": "analyst.html",
            "marketing_html": "marketing.html",
            "outputs": sorted(f"outputs/{name}" for name in outputs or {}),
        }
        manifest = {
            "notebook": notebook,
            "run_id": run_id,
            "report_date": report_date,
            "started_at": run.started_at.isoformat(),
            "duration_seconds": run.duration_seconds,
            "status": run.status,
            "error": run.error,
            "parameters": run.parameters,
            "headline": headline or {},
            "folder": folder,
            "files": files,
        }
        if files["notebook"] not in kept:
            self.put(f"{folder}/{files['notebook']}", notebook_bytes)
        for name, data in (outputs or {}).items():
            if f"outputs/{name}" not in kept:
                self.put(f"{folder}/outputs/{name}", data)
        for audience in ("analyst", "marketing"):
            self.put(f"{folder}/{audience}.html", run.html[audience].encode())
        self.put(f"{folder}/manifest.json", json.dumps(manifest, indent=2, default=str).encode())
        if run.status == "succeeded":  # latest/ always shows the last good run
            latest = f"{REPORTS_PREFIX}/latest/{notebook}"
            self.put(f"{latest}.html", run.html["marketing"].encode())
            self.put(f"{latest}.analyst.html", run.html["analyst"].encode())
        self.write_index()
        return manifest

    def manifests(self) -> list[dict[str, Any]]:
        """Every archived run's manifest."""
        return [
            json.loads(self.lake.read_bytes(obj.key))
            for obj in self.lake.list(REPORTS_PREFIX)
            if obj.key.endswith("/manifest.json") and obj.key.count("/") == 4
        ]

    def write_index(self) -> str:
        """Rebuild ``reports/index.html`` from all manifests; returns its key."""
        manifests = self.manifests()
        key = f"{REPORTS_PREFIX}/index.html"
        self.put(key, index_html(manifests).encode())
        return key

    def uri(self, key: str) -> str:
        return self.lake.uri(key)


def report_store(lake: Lake, s3_endpoint_url: str | None = None) -> ReportStore:
    """The store of a lake: a folder needs nothing; S3 gets a boto3 client."""
    if lake.is_local:
        return ReportStore(lake)
    import boto3

    return ReportStore(lake, boto3.client("s3", endpoint_url=s3_endpoint_url))
