"""Fetch a public dataset into the raw zone, then read, validate, scrub and write it to trusted/.

Raw files land under ``raw/public/<dataset>/<YYYY-MM-DD>/<filename>`` as fetched; the typed
table goes to ``trusted/public/<dataset>/data.parquet``. Both are written to a temporary key
and renamed, so a reader never sees half a file and a re-run simply replaces them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from flows import layout
from flows.lake import Lake
from flows.sources.public.catalog import Catalog, CatalogError, DatasetEntry
from flows.sources.public.read import DatasetError, read_and_validate

SOURCE_PLACEHOLDER = "{source}"
HTTP_TIMEOUT = httpx.Timeout(30.0, read=120.0)

Scrubber = Callable[[str, pa.Table], tuple[pa.Table, Any]]


# ---- choosing what to ingest ----------------------------------------------------------


@dataclass(frozen=True)
class PlannedDataset:
    """A catalog entry with its location resolved for this run."""

    name: str
    entry: DatasetEntry
    location: str

    @property
    def filename(self) -> str:
        return self.location.rstrip("/").rsplit("/", 1)[-1]


def resolve_location(location: str, source: str | None, catalog_dir: Path | None) -> str:
    """Fill ``{source}`` and make a relative path relative to the catalog's folder."""
    if SOURCE_PLACEHOLDER in location:
        if not source:
            raise CatalogError(
                f"location {location!r} needs --source (a sample release folder or its URL)"
            )
        location = location.replace(SOURCE_PLACEHOLDER, source.rstrip("/"))
    if "{" in location or "}" in location:
        raise CatalogError(f"location {location!r} has an unknown placeholder")
    if is_url(location) or Path(location).is_absolute() or catalog_dir is None:
        return location
    return str(catalog_dir / location)


def plan(
    catalog: Catalog, dataset: str | None = None, source: str | None = None
) -> list[PlannedDataset]:
    """The datasets of one run: all of them, or the one named (an unknown name is an error)."""
    if dataset is not None and dataset not in catalog.datasets:
        known = ", ".join(sorted(catalog.datasets))
        raise CatalogError(f"unknown dataset {dataset!r}; the catalog lists: {known}")
    names = [dataset] if dataset is not None else list(catalog.datasets)
    catalog_dir = catalog.path.parent if catalog.path else None
    planned = []
    for name in names:
        entry = catalog.datasets[name]
        location = resolve_location(entry.read.location, source, catalog_dir)
        planned.append(PlannedDataset(name, entry, location))
    return planned


# ---- fetch, read, write ---------------------------------------------------------------


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


raw_key = layout.public_raw_key  # keys and atomic writes: one home, flows.layout
trusted_key = layout.public_trusted_key
_write_atomically = layout.write_atomically


def fetch(planned: PlannedDataset, lake: Lake, day: dt.date) -> str:
    """Copy the dataset's file (local path or HTTP) into the raw zone; returns its key."""
    key = raw_key(planned.name, day, planned.filename)
    if is_url(planned.location):

        def download(sink: Any) -> None:
            with httpx.stream(
                "GET", planned.location, timeout=HTTP_TIMEOUT, follow_redirects=True
            ) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    sink.write(chunk)

        _write_atomically(lake, key, download)
    else:
        path = Path(planned.location)
        if not path.is_file():
            raise DatasetError(f"{planned.name}: file not found: {path}")

        def copy(sink: Any) -> None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, sink, 1 << 20)

        _write_atomically(lake, key, copy)
    return key


def write_trusted(lake: Lake, name: str, table: pa.Table) -> str:
    """Write the typed table as ``trusted/public/<name>/data.parquet``, atomically."""
    key = trusted_key(name)
    _write_atomically(lake, key, lambda sink: pq.write_table(table, sink))
    return key


@dataclass(frozen=True)
class IngestedDataset:
    """What ingesting one dataset produced."""

    name: str
    rows: int
    raw_key: str
    trusted_key: str
    notes: str
    scrub_report: Any


def ingest_dataset(
    planned: PlannedDataset, raw: str, lake: Lake, scrub: Scrubber
) -> IngestedDataset:
    """Read the raw file, validate and rename it, scrub it and write it to trusted/."""
    entry = planned.entry
    if entry.read.format != "csv":
        raise DatasetError(
            f"{planned.name}: format {entry.read.format!r} is declared but no reader is built "
            "for it yet (only csv)"
        )
    with lake.open_input(raw) as source:
        data = source.read()
    table, notes = read_and_validate(planned.name, entry, data)
    clean, report = scrub(f"public.{planned.name}", table)
    metadata = {
        b"bigd.dataset": planned.name.encode(),
        b"bigd.raw_key": raw.encode(),
        b"bigd.raw_sha256": hashlib.sha256(data).hexdigest().encode(),
    }
    clean = clean.replace_schema_metadata({**(clean.schema.metadata or {}), **metadata})
    key = write_trusted(lake, planned.name, clean)
    return IngestedDataset(planned.name, clean.num_rows, raw, key, notes, report)
