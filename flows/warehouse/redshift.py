"""Redshift: stage compressed Parquet on S3, write a manifest, ``COPY ... MANIFEST``.

As AWS recommends: the number of files is a multiple of the cluster's slices so every
slice loads in parallel, files are evenly sized, and a manifest names exactly the files
of this load (no prefix listing, no eventual-consistency surprises). A failed COPY is
reported with the rows of ``STL_LOAD_ERRORS`` for that COPY.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from flows.config import Settings
from flows.lake import s3_filesystem
from flows.warehouse.engines import ENGINES
from flows.warehouse.merge import create_staging_sql
from flows.warehouse.tables import TrustedInput

ROWS_PER_FILE = 2_000_000
LOAD_ERRORS_SQL = (
    "SELECT query, TRIM(filename) AS filename, line_number, TRIM(colname) AS colname, "
    "err_code, TRIM(err_reason) AS err_reason FROM stl_load_errors "
    "WHERE query = pg_last_copy_id() ORDER BY starttime DESC LIMIT 20"
)


class RedshiftLoadError(RuntimeError):
    """A COPY failed; the message carries the STL_LOAD_ERRORS rows."""


@dataclass(frozen=True)
class StagedFiles:
    """The files of one table on S3 and the manifest that lists them."""

    manifest_uri: str
    file_uris: list[str]
    rows: int


def _split_s3(uri: str) -> str:
    if not uri.startswith("s3://"):
        raise ValueError(f"the Redshift staging prefix must be s3://bucket/prefix, got {uri!r}")
    return uri[5:].rstrip("/")


def file_count(rows: int, slices: int, rows_per_file: int = ROWS_PER_FILE) -> int:
    """A multiple of the slices, with at most ``rows_per_file`` rows per file."""
    return slices * max(1, math.ceil(rows / (slices * rows_per_file)))


def even_sizes(rows: int, files: int) -> list[int]:
    """Rows per file, differing by at most one (evenly sized files load evenly)."""
    base, extra = divmod(rows, files)
    return [base + (1 if index < extra else 0) for index in range(files)]


def _regroup(batches: Iterator[pa.RecordBatch], sizes: list[int]) -> Iterator[list[pa.RecordBatch]]:
    """Regroup a batch stream into consecutive groups of the given row counts."""
    pending: pa.RecordBatch | None = None
    for size in sizes:
        group: list[pa.RecordBatch] = []
        while size:
            if pending is None or not pending.num_rows:
                pending = next(batches, None)
                if pending is None:
                    break
                continue
            take = min(size, pending.num_rows)
            group.append(pending.slice(0, take))
            pending, size = pending.slice(take), size - take
        yield group


@dataclass
class RedshiftLoader:
    """Stage to S3 and COPY into Redshift."""

    iam_role: str
    staging_uri: str  # s3://bucket/prefix
    slices: int
    filesystem: pafs.FileSystem
    rows_per_file: int = ROWS_PER_FILE
    load_id: str = field(
        default_factory=lambda: (
            dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        )
    )
    dialect = ENGINES["redshift"].dialect

    def _prefix(self, item: TrustedInput) -> str:
        return f"{_split_s3(self.staging_uri)}/{self.load_id}/{item.spec.name}"

    def write_staging_files(self, item: TrustedInput) -> StagedFiles:
        """Write the table as snappy Parquet files (a multiple of the slices) + manifest."""
        prefix = self._prefix(item)
        count = file_count(item.num_rows, self.slices, self.rows_per_file)
        batches = item.batches()
        paths, written = [], 0
        for index, group in enumerate(_regroup(batches, even_sizes(item.num_rows, count))):
            path = f"{prefix}/part-{index:05d}.parquet"
            with pq.ParquetWriter(
                path, item.schema, filesystem=self.filesystem, compression="snappy"
            ) as writer:
                for batch in group:
                    writer.write_batch(batch)
                    written += batch.num_rows
            paths.append(path)
        entries = [
            {
                "url": f"s3://{path}",
                "mandatory": True,
                # Redshift needs each file's length in the manifest for Parquet.
                "meta": {"content_length": self.filesystem.get_file_info(path).size},
            }
            for path in paths
        ]
        manifest = f"{prefix}.manifest"
        with self.filesystem.open_output_stream(manifest) as sink:
            sink.write(json.dumps({"entries": entries}, indent=1).encode())
        return StagedFiles(f"s3://{manifest}", [str(entry["url"]) for entry in entries], written)

    def copy_sql(self, staging: str, manifest_uri: str) -> str:
        role = self.iam_role.replace("'", "''")
        return f"COPY {staging} FROM '{manifest_uri}' IAM_ROLE '{role}' FORMAT AS PARQUET MANIFEST"

    def copy(self, conn: Connection, staging: str, staged: StagedFiles) -> None:
        """Run the COPY; on failure roll back, read STL_LOAD_ERRORS and raise with them."""
        try:
            conn.exec_driver_sql(self.copy_sql(staging, staged.manifest_uri))
        except DBAPIError as error:
            conn.rollback()
            try:
                rows = [dict(row._mapping) for row in conn.exec_driver_sql(LOAD_ERRORS_SQL)]
            except DBAPIError as lookup:
                conn.rollback()
                rows = [{"stl_load_errors": f"unreadable: {lookup.orig}"}]
            raise RedshiftLoadError(
                f"COPY into {staging} from {staged.manifest_uri} failed: {error.orig}; "
                f"STL_LOAD_ERRORS: {rows}"
            ) from None

    def stage(self, engine: Engine, item: TrustedInput) -> None:
        """Write S3 files + manifest, recreate ``staging.<table>``, COPY into it."""
        staged = self.write_staging_files(item)
        with engine.connect() as conn:
            for statement in create_staging_sql(item.spec.staging, item.schema, self.dialect):
                conn.exec_driver_sql(statement)
            self.copy(conn, item.spec.staging, staged)
            conn.commit()

    def cleanup(self, engine: Engine, items: list[TrustedInput]) -> None:
        """Drop staging tables and this load's S3 files."""
        with engine.begin() as conn:
            for item in items:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {item.spec.staging}")
        folder = f"{_split_s3(self.staging_uri)}/{self.load_id}"
        if self.filesystem.get_file_info(folder).type != pafs.FileType.NotFound:
            self.filesystem.delete_dir(folder)


def loader(settings: Settings) -> RedshiftLoader:
    """The registry's factory: COPY needs an IAM role and an S3 staging prefix."""
    if not settings.redshift_iam_role or not settings.redshift_staging_prefix:
        raise ValueError(
            "a Redshift warehouse needs BIGD_REDSHIFT_IAM_ROLE and BIGD_REDSHIFT_STAGING_PREFIX"
        )
    return RedshiftLoader(
        iam_role=settings.redshift_iam_role,
        staging_uri=settings.redshift_staging_prefix,
        slices=settings.redshift_slices,
        filesystem=s3_filesystem(settings.s3_endpoint_url),
    )
