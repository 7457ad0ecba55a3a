"""A release as a whole: the one sequence every CNPJ run follows, tests and the flow alike.

:func:`run_release` is the job: check the release, take its lock, recover what a dead run
left, refuse an incomplete source, fetch and parse every file (through a *map* the caller
chooses), then fail on too many bad rows or publish the whole release at once. The tests
call it with :func:`serial_map`; ``flows.cnpj_flow`` calls it with a map that runs the
files as Prefect tasks in parallel. Nothing else differs between them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from flows import layout
from flows.lake import Lake
from flows.layout import check_release
from flows.locks import LockHeld, lake_lock
from flows.runs import RunSummary, merge_scrub_reports
from flows.sources.cnpj import download, store
from flows.sources.cnpj.download import Fetched
from flows.sources.cnpj.ingest import FileSummary, Scrubber, ingest_file
from flows.sources.cnpj.layout import classify
from flows.sources.cnpj.memory import PARSES, parse_estimate_mb


class BadRowRateExceeded(RuntimeError):
    """At least one file has more bad rows than ``BIGD_MAX_BAD_ROW_RATE`` allows."""

    def __init__(self, message: str, summary: ReleaseSummary):
        super().__init__(message)
        self.summary = summary


class ReleaseLocked(LockHeld):
    """Another live run is ingesting the same release."""


class IncompleteRelease(RuntimeError):
    """The source lacks files the release already has in ``raw/``."""


@dataclass
class ReleaseSummary:
    """What a run did: per-file counts and the tables it published."""

    release: str
    run_id: str
    files: list[FileSummary] = field(default_factory=list)
    fetched: int = 0
    skipped_downloads: int = 0

    def tables(self) -> dict[str, int]:
        rows: dict[str, int] = {}
        for file in self.files:
            rows[file.table] = rows.get(file.table, 0) + file.rows_written
        return rows

    def rows(self) -> list[dict[str, object]]:
        return [file.row() for file in sorted(self.files, key=lambda f: f.file)]

    def __str__(self) -> str:
        written = sum(file.rows_written for file in self.files)
        quarantined = sum(file.rows_quarantined for file in self.files)
        unmapped = sum(file.unmapped_municipios for file in self.files)
        quarantine = layout.cnpj_release_prefix("quarantine", self.release)
        return (
            f"release {self.release}: {len(self.tables())} tables, {written:,} rows written, "
            f"{quarantined:,} quarantined ({quarantine}/), {unmapped:,} "
            f"establishments in municipalities without an IBGE code; "
            f"{self.fetched} files fetched, {self.skipped_downloads} already in the lake"
        )

    def run_summary(self) -> RunSummary:
        """The flows' common summary shape (``flows.runs``)."""
        return RunSummary(
            flow="ingest_cnpj",
            subject=self.release,
            line=str(self),
            rows=self.rows(),
            totals={
                "release": self.release,
                "run_id": self.run_id,
                "tables": self.tables(),
                "rows_quarantined": sum(f.rows_quarantined for f in self.files),
                "fetched": self.fetched,
                "skipped_downloads": self.skipped_downloads,
            },
            scrub=merge_scrub_reports(f.scrub_report for f in self.files),
            description=f"CNPJ release {self.release}: rows read, written, quarantined per file",
        )


new_run_id = layout.new_run_id  # sortable by start time, unique between concurrent runs


@dataclass
class ReleaseJob:
    """What every file of one run needs: where from, where to, how to scrub and scope."""

    lake: Lake
    release: str
    location: str
    work_dir: Path
    scrubber: Scrubber
    cnaes: list[str] | None = None
    ufs: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def fetch(self, name: str) -> Fetched:
        """Step 1 for one file: bring it, verified, into ``raw/cnpj/<release>/``."""
        return download.fetch(self.lake, self.release, self.location, name, self.work_dir)

    def process(self, run_id: str, name: str) -> FileSummary:
        """Step 2 for one file: raw zip -> staged Parquet parts and quarantine."""
        return process_file(
            self.lake, self.release, run_id, name, self.scrubber, self.cnaes, self.ufs,
            **self.options,
        )  # fmt: skip


# (job, run id, file names) -> (one Fetched per name, one FileSummary per name)
FileMap = Callable[[ReleaseJob, str, list[str]], tuple[list[Fetched], list[FileSummary]]]


def serial_map(job: ReleaseJob, run_id: str, names: list[str]):
    """Every file fetched, then every file parsed, one after the other."""
    fetched = [job.fetch(name) for name in names]
    return fetched, [job.process(run_id, name) for name in names]


def process_file(
    lake: Lake,
    release: str,
    run_id: str,
    name: str,
    scrubber: Scrubber,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
    **options,
) -> FileSummary:
    """Raw zip -> staged Parquet parts and quarantine, once its memory fits the budget."""
    release_file = classify(name)
    if release_file is None:
        raise ValueError(f"{name} is not a CNPJ release file")
    staged = layout.cnpj_staging_prefix("trusted", release, run_id)
    quarantine = layout.cnpj_staging_prefix("quarantine", release, run_id)
    raw = layout.cnpj_raw_key(release, name)
    with lake.open_input(raw) as handle, zipfile.ZipFile(handle) as archive:
        csv_bytes = sum(info.file_size for info in archive.infolist())
    try:
        with PARSES.take(parse_estimate_mb(csv_bytes)):
            return ingest_file(
                lake,
                release_file,
                raw,
                table_prefix=f"{staged}/{release_file.table}",
                quarantine_key=f"{quarantine}/{name.removesuffix('.zip')}.jsonl",
                scrubber=scrubber,
                cnaes=cnaes,
                ufs=ufs,
                **options,
            )
    finally:
        # Arrow's allocator keeps freed pages for reuse; hand them back so the budget
        # the next parse takes is memory the system really has.
        pa.default_memory_pool().release_unused()


def check_complete(lake: Lake, release: str, location: str, names: list[str]) -> None:
    """Refuse a source that lacks zips ``raw/`` already holds for this release.

    A release is published whole or not at all: re-publishing only the tables of the
    files given would silently drop the others, and a numbered family given in part
    (Estabelecimentos0 without 1..9) would shrink its table. So the source must hold at
    least what the release already has; the previous output stays otherwise."""
    raw = layout.cnpj_raw_prefix(release)
    have = {obj.key.rsplit("/", 1)[-1] for obj in lake.list(raw)}
    missing = sorted(name for name in have if classify(name) and name not in names)
    if missing:
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        shown = ", ".join(missing[:8]) + more
        raise IncompleteRelease(
            f"CNPJ release {release}: {location} lacks {shown}, which {lake.uri(raw)} "
            "already holds; a release is published whole, so nothing was changed "
            "(give the complete release folder)"
        )


def finish(
    lake: Lake,
    summary: ReleaseSummary,
    max_bad_row_rate: float,
    scope: dict | None = None,
) -> None:
    """Fail on too many bad rows (keeping the previous output), else publish."""
    release, run_id = summary.release, summary.run_id
    too_bad = [f for f in summary.files if f.bad_row_rate > max_bad_row_rate]
    if too_bad:
        abandon(lake, release, run_id)
        named = ", ".join(f"{f.file} ({f.bad_row_rate:.3%})" for f in too_bad)
        where = lake.uri(layout.cnpj_staging_prefix("quarantine", release, run_id))
        raise BadRowRateExceeded(
            f"CNPJ release {release}: bad-row rate above {max_bad_row_rate:.3%} in {named}; "
            f"previous output kept, bad rows in {where}",
            summary,
        )
    staged = layout.cnpj_staging_prefix("trusted", release, run_id)
    for table in sorted({f.table for f in summary.files}):
        files = sorted((f for f in summary.files if f.table == table), key=lambda f: f.file)
        parts = [part for f in files for part in f.parts]
        manifest = {
            "release": release,
            "run_id": run_id,
            "table": table,
            "files": [f.file for f in files],
            "scope": scope if table == "estabelecimentos" else None,
            **store.manifest_of(parts),
        }
        layout.write_manifest(lake, f"{staged}/{table}", manifest)
    layout.write_manifest(
        lake,
        staged,
        {"release": release, "run_id": run_id, "tables": summary.tables(), "scope": scope},
    )
    store.publish(lake, release, run_id)


def abandon(lake: Lake, release: str, run_id: str) -> None:
    """Drop a failed run's staged tables; its quarantine stays for people to look at
    (until the release's next run clears it)."""
    lake.delete_prefix(layout.cnpj_staging_prefix("trusted", release, run_id))


def run_release(
    lake: Lake,
    release: str,
    source: str,
    scrubber: Scrubber,
    work_dir: Path,
    max_bad_row_rate: float,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
    *,
    map_files: FileMap = serial_map,
    lock_wait: float = 0.0,
    **options,
) -> ReleaseSummary:
    """The whole job; ``map_files`` runs the per-file steps (serially by default)."""
    check_release(release)
    location = download.release_location(release, source)
    names = download.list_release(location)
    if not names:
        raise FileNotFoundError(f"no CNPJ zips found in {location}")
    job = ReleaseJob(lake, release, location, work_dir, scrubber, cnaes, ufs, options)
    summary = ReleaseSummary(release=release, run_id=new_run_id())
    lock_key, what = layout.cnpj_lock_key(release), f"CNPJ release {release}"
    with lake_lock(lake, lock_key, what, summary.run_id, lock_wait, ReleaseLocked) as held:
        store.recover(lake, release)  # under the lock: whatever is staged belongs to dead runs
        check_complete(lake, release, location, names)
        try:
            fetched, summary.files = map_files(job, summary.run_id, names)
        except BaseException:
            abandon(lake, release, summary.run_id)
            raise
        summary.fetched = sum(not f.skipped for f in fetched)
        summary.skipped_downloads = sum(f.skipped for f in fetched)
        held.check()  # a lost lease must not publish over a run that took it over
        finish(lake, summary, max_bad_row_rate, scope=scope_of(cnaes, ufs))
    download.remove_work_file(work_dir, release)
    return summary


def scope_of(cnaes: list[str] | None, ufs: list[str] | None) -> dict | None:
    """How establishments were scoped (None = everything), recorded in the manifest."""
    return {"cnae": cnaes, "uf": ufs} if (cnaes or ufs) else None
