"""A release as a whole: which files, the plain per-file steps, and publishing the result."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flows.lake import Lake
from flows.sources.cnpj import download, store
from flows.sources.cnpj.ingest import FileSummary, Scrubber, ingest_file
from flows.sources.cnpj.layout import classify

_RELEASE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class BadRowRateExceeded(RuntimeError):
    """At least one file has more bad rows than ``BIGD_MAX_BAD_ROW_RATE`` allows."""


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
        return (
            f"release {self.release}: {len(self.tables())} tables, {written:,} rows written, "
            f"{quarantined:,} quarantined (quarantine/cnpj/{self.release}/), {unmapped:,} "
            f"establishments in municipalities without an IBGE code; "
            f"{self.fetched} files fetched, {self.skipped_downloads} already in the lake"
        )


def check_release(release: str) -> str:
    if not _RELEASE.fullmatch(release):
        raise ValueError(f"a release is YYYY-MM, got {release!r}")
    return release


def new_run_id() -> str:
    """Sortable by start time, unique between concurrent runs."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def fetch_file(lake: Lake, release: str, location: str, name: str, work_dir: Path):
    """Step 1 for one file: bring it into ``raw/cnpj/<release>/``."""
    return download.fetch(lake, release, location, name, work_dir)


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
    """Step 2 for one file: raw zip -> staged Parquet parts and quarantine."""
    release_file = classify(name)
    if release_file is None:
        raise ValueError(f"{name} is not a CNPJ release file")
    staged = store.staging_prefix("trusted", release, run_id)
    quarantine = store.staging_prefix("quarantine", release, run_id)
    return ingest_file(
        lake,
        release_file,
        store.raw_key(release, name),
        table_prefix=f"{staged}/{release_file.table}",
        quarantine_key=f"{quarantine}/{name.removesuffix('.zip')}.jsonl",
        scrubber=scrubber,
        cnaes=cnaes,
        ufs=ufs,
        **options,
    )


def finish(
    lake: Lake,
    summary: ReleaseSummary,
    max_bad_row_rate: float,
    scope: dict | None = None,
) -> None:
    """Step 3: fail on too many bad rows (keeping the previous output), else publish."""
    release, run_id = summary.release, summary.run_id
    too_bad = [f for f in summary.files if f.bad_row_rate > max_bad_row_rate]
    if too_bad:
        abandon(lake, release, run_id)
        named = ", ".join(f"{f.file} ({f.bad_row_rate:.3%})" for f in too_bad)
        where = lake.uri(store.staging_prefix("quarantine", release, run_id))
        raise BadRowRateExceeded(
            f"CNPJ release {release}: bad-row rate above {max_bad_row_rate:.3%} in {named}; "
            f"previous output kept, bad rows in {where}"
        )
    staged = store.staging_prefix("trusted", release, run_id)
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
        store.write_manifest(lake, f"{staged}/{table}", manifest)
    store.write_manifest(
        lake,
        staged,
        {"release": release, "run_id": run_id, "tables": summary.tables(), "scope": scope},
    )
    store.publish(lake, release, run_id)


def abandon(lake: Lake, release: str, run_id: str) -> None:
    """Drop a failed run's staged tables; its quarantine stays for people to look at
    (until the release's next run clears it)."""
    lake.delete_prefix(store.staging_prefix("trusted", release, run_id))


def run_release(
    lake: Lake,
    release: str,
    source: str,
    scrubber: Scrubber,
    work_dir: Path,
    max_bad_row_rate: float,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
    **options,
) -> ReleaseSummary:
    """The whole job, file after file, without Prefect (the flow runs files in parallel)."""
    check_release(release)
    store.recover(lake, release)
    summary = ReleaseSummary(release=release, run_id=new_run_id())
    location = download.release_location(release, source)
    names = download.list_release(location)
    try:
        for name in names:
            fetched = fetch_file(lake, release, location, name, work_dir)
            summary.fetched += not fetched.skipped
            summary.skipped_downloads += fetched.skipped
        for name in names:
            summary.files.append(
                process_file(lake, release, summary.run_id, name, scrubber, cnaes, ufs, **options)
            )
    except BaseException:
        abandon(lake, release, summary.run_id)
        raise
    finish(lake, summary, max_bad_row_rate, scope=scope_of(cnaes, ufs))
    return summary


def scope_of(cnaes: list[str] | None, ufs: list[str] | None) -> dict | None:
    """How establishments were scoped (None = everything), recorded in the manifest."""
    return {"cnae": cnaes, "uf": ufs} if (cnaes or ufs) else None
