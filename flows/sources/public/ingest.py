"""Fetch a public dataset into the raw zone, then read, validate, scrub and write it to trusted/.

Raw files land under ``raw/public/<dataset>/<YYYY-MM-DD>/<filename>`` as fetched; a file
pinned in the catalog (size + sha256 of IBGE's published bytes) lands once under
``raw/public/pinned/<sha256>/<filename>``, so one download of the POF microdata zip serves
both datasets read from it. The typed table goes to ``trusted/public/<dataset>/data.parquet``.
Both are written to a temporary key and renamed, so a reader never sees half a file and a
re-run simply replaces them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import gettempdir
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from flows import layout
from flows.guards import TableGuard
from flows.lake import Lake
from flows.retry import retrying
from flows.sources.cnpj.download import http_client
from flows.sources.public.catalog import Catalog, CatalogError, DatasetEntry, ProductionSpec
from flows.sources.public.datasets import RawFile, methods
from flows.sources.public.errors import DatasetError
from flows.sources.public.read import read_and_validate, validate_table

SOURCE_PLACEHOLDER = "{source}"
FETCH_ATTEMPTS = 4  # a plain URL; transient errors only (flows.retry)

Scrubber = Callable[[str, pa.Table], tuple[pa.Table, Any]]


# ---- choosing what to ingest ----------------------------------------------------------


@dataclass(frozen=True)
class PlannedDataset:
    """A catalog entry with its location resolved for this run."""

    name: str
    entry: DatasetEntry
    location: str
    catalog: Catalog | None = None  # layouts and the category map live beside the datasets

    @property
    def filename(self) -> str:
        return self.location.rstrip("/").rsplit("/", 1)[-1]

    @property
    def pin(self) -> ProductionSpec | None:
        """The production entry, when this run reads its pinned file (size and sha256)."""
        production = self.entry.production
        if production and production.sha256 and production.location == self.location:
            return production
        return None


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
    catalog: Catalog,
    dataset: str | None = None,
    source: str | None = None,
    *,
    location: str | None = None,
    production: bool = False,
) -> list[PlannedDataset]:
    """The datasets of one run: all of them, or the one named (an unknown name is an error).

    ``production`` reads each dataset from IBGE's published address (the catalog's
    ``production.location``); ``location`` reads the one named dataset from another file
    (e.g. another year's estimates) without editing the catalog.
    """
    if dataset is not None and dataset not in catalog.datasets:
        known = ", ".join(sorted(catalog.datasets))
        raise CatalogError(f"unknown dataset {dataset!r}; the catalog lists: {known}")
    if location is not None and dataset is None:
        raise CatalogError("a location replaces one dataset's file: name it with --dataset")
    names = [dataset] if dataset is not None else list(catalog.datasets)
    catalog_dir = catalog.path.parent if catalog.path else None
    planned = []
    for name in names:
        entry = catalog.datasets[name]
        declared = entry.read.location
        if location is not None:
            declared = location
        elif production:
            if entry.production is None:
                raise CatalogError(f"dataset {name!r} has no production location")
            declared = entry.production.location
        where = resolve_location(declared, source, catalog_dir)
        planned.append(PlannedDataset(name, entry, where, catalog))
    return planned


# ---- fetch, read, write ---------------------------------------------------------------


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


raw_key = layout.public_raw_key  # keys and atomic writes: one home, flows.layout
trusted_key = layout.public_trusted_key
_write_atomically = layout.write_atomically


def fetch(
    planned: PlannedDataset,
    lake: Lake,
    day: dt.date,
    work_dir: Path | None = None,
    client: httpx.Client | None = None,
) -> str:
    """Copy the dataset's file (local path or HTTP) into the raw zone; returns its key.

    Downloads retry here and only here (``flows.retry``: transient trouble only, so a 404
    fails at once); a pinned file goes through the CNPJ download, which resumes and retries."""
    if planned.pin is not None and is_url(planned.location):
        from flows.sources.public.pinned import fetch_pinned

        work = work_dir or Path(gettempdir())
        return fetch_pinned(planned.location, planned.pin, lake, work, client)
    key = raw_key(planned.name, day, planned.filename)
    if is_url(planned.location):
        with http_client(client) as http:

            def download(sink: Any) -> None:
                with http.stream("GET", planned.location) as response:
                    response.raise_for_status()
                    for chunk in response.iter_bytes(1 << 20):
                        sink.write(chunk)

            for attempt in retrying(attempts=FETCH_ATTEMPTS):
                with attempt:
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
    planned: PlannedDataset,
    raw: str,
    lake: Lake,
    scrub: Scrubber,
    guard: TableGuard | None = None,
) -> IngestedDataset:
    """Read the raw file as its catalog entry says, validate it, scrub it, write trusted/
    (unless it is empty or much smaller than the trusted table: ``flows.guards``)."""
    entry = planned.entry
    if entry.method == "table":
        if entry.read.format != "csv":
            raise DatasetError(
                f"{planned.name}: format {entry.read.format!r} needs a method that builds the "
                "table from it (population, ipm_nm, pof_food_spending); plain tables are csv"
            )
        with lake.open_input(raw) as source:
            data = source.read()
        table, notes = read_and_validate(planned.name, entry, data)
        digest = hashlib.sha256(data).hexdigest()
    else:
        if planned.catalog is None:
            raise DatasetError(f"{planned.name}: method {entry.method!r} needs its catalog")
        raw_file = RawFile(planned.filename, lambda: lake.open_input(raw))
        built = methods()[entry.method](entry, planned.catalog, raw_file)
        table, notes = validate_table(planned.name, entry, built)
        digest = _sha256(lake, raw)
    clean, report = scrub(f"public.{planned.name}", table)
    metadata = {
        b"bigd.dataset": planned.name.encode(),
        b"bigd.raw_key": raw.encode(),
        b"bigd.raw_sha256": digest.encode(),
    }
    clean = clean.replace_schema_metadata({**(clean.schema.metadata or {}), **metadata})
    key = trusted_key(planned.name)
    previous = pq.read_metadata(lake.path(key), filesystem=lake.filesystem).num_rows if (
        lake.exists(key)) else None  # fmt: skip
    override = (guard or TableGuard()).check(
        f"public.{planned.name}", table.num_rows, 0, clean.num_rows, previous
    )
    if override:
        notes = f"{notes}; {override}" if notes else override
    write_trusted(lake, planned.name, clean)
    return IngestedDataset(planned.name, clean.num_rows, raw, key, notes, report)


def _sha256(lake: Lake, key: str) -> str:
    digest = hashlib.sha256()
    with lake.open_input(key) as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
