"""One release file, end to end: raw zip -> typed, scrubbed Parquet parts + quarantine."""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from flows.lake import Lake
from flows.sources.cnpj.layout import ESTABELECIMENTOS, ReleaseFile
from flows.sources.cnpj.parse import (
    DEFAULT_BLOCK_SIZE,
    BadRow,
    ReceitaReader,
    add_establishment_columns,
    raw_line,
    scope_mask,
    type_batch,
)
from flows.sources.cnpj.quarantine import QuarantineWriter
from flows.sources.cnpj.store import Part, PartWriter

# (dataset, table) -> (scrubbed table, report or None)
Scrubber = Callable[[str, pa.Table], tuple[pa.Table, Any]]
DEFAULT_ROWS_PER_PART = 5_000_000


class FileError(ValueError):
    """A release file that cannot be read (corrupt, empty, not CSV); names the file."""


@dataclass
class FileSummary:
    """What happened to one release file."""

    file: str
    table: str
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_out_of_scope: int = 0
    unmapped_municipios: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    scrub_report: Any = None

    @property
    def bad_row_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    def row(self) -> dict[str, object]:
        """One line of the run summary table."""
        return {
            "file": self.file,
            "table": self.table,
            "rows read": self.rows_read,
            "rows written": self.rows_written,
            "rows quarantined": self.rows_quarantined,
            "bad-row rate": f"{self.bad_row_rate:.4%}",
            "out of scope": self.rows_out_of_scope,
            "unmapped municipio": self.unmapped_municipios,
        }


def scrub_with_policy(key: bytes) -> Scrubber:
    """The issue-2 scrub policy as a Scrubber (imported here: there is no fallback)."""
    from flows.scrub import scrub_table

    def scrub(dataset: str, table: pa.Table) -> tuple[pa.Table, Any]:
        return scrub_table(dataset, table, key=key)

    return scrub


def ingest_file(
    lake: Lake,
    release_file: ReleaseFile,
    zip_key: str,
    *,
    table_prefix: str,
    quarantine_key: str,
    scrubber: Scrubber,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
) -> FileSummary:
    """Parse, type, check, scope and scrub one zip, writing parts and bad rows."""
    layout = release_file.layout
    summary = FileSummary(file=release_file.name, table=layout.table)
    reasons: Counter[str] = Counter()
    writer = PartWriter(lake, table_prefix, release_file.part, rows_per_part)
    scoped = layout is ESTABELECIMENTOS and bool(cnaes or ufs)

    def finish(typed: pa.Table) -> None:
        if layout is ESTABELECIMENTOS:
            typed, unmapped = add_establishment_columns(typed)
            summary.unmapped_municipios += unmapped
            mask = scope_mask(typed, cnaes, ufs) if scoped else None
            if mask is not None:
                kept = typed.filter(mask)
                summary.rows_out_of_scope += typed.num_rows - kept.num_rows
                typed = kept
        clean, report = scrubber(layout.dataset, typed)
        if report is not None:
            summary.scrub_report = (
                report if summary.scrub_report is None else summary.scrub_report.merge(report)
            )
        writer.write(clean)
        summary.rows_written += clean.num_rows

    try:
        with (
            lake.open_input(zip_key) as handle,
            zipfile.ZipFile(handle) as archive,
            QuarantineWriter(lake, quarantine_key, release_file.name) as quarantine,
        ):
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                found = len(members)
                raise FileError(f"{release_file.name}: expected one CSV inside, found {found}")
            with archive.open(members[0]) as member:
                reader = ReceitaReader(member, layout, block_size=block_size)
                batches = 0
                # closing(): on an error the reader's thread is stopped here, not at some later
                # garbage collection (a live reader thread at interpreter exit aborts Python).
                with contextlib.closing(reader.__iter__()) as stream:
                    for batch, first_index, field_count_errors in stream:
                        batches += 1
                        _drain(field_count_errors, quarantine, reasons)
                        typed, problems = type_batch(
                            batch, layout, reader.saw_control_bytes, reader.saw_mojibake
                        )
                        if problems:
                            indices = np.array([index for index, _ in problems], dtype=np.int64)
                            lines = reader.line_numbers(first_index + indices)
                            bad = [
                                BadRow(int(line), reason, raw_line(batch, index))
                                for line, (index, reason) in zip(lines, problems, strict=True)
                            ]
                            _drain(bad, quarantine, reasons)
                            keep = np.ones(batch.num_rows, dtype=bool)
                            keep[indices] = False
                            typed = typed.filter(pa.array(keep))
                        finish(typed)
                    if batches == 0:
                        finish(
                            layout.schema().empty_table()
                        )  # an empty part keeps the table readable
            summary.rows_read = reader.rows_read
            summary.rows_quarantined = quarantine.rows
    except (zipfile.BadZipFile, zlib.error, EOFError, pa.ArrowInvalid) as error:
        writer.abort()
        raise FileError(f"{release_file.name}: {type(error).__name__}: {error}") from error
    except BaseException:
        writer.abort()
        raise
    summary.parts = writer.close()
    summary.reasons = dict(reasons)
    return summary


def _drain(bad_rows: list[BadRow], quarantine: QuarantineWriter, reasons: Counter[str]) -> None:
    quarantine.write(bad_rows)
    # Count by kind ("wrong field count", "impossible date in data_x"): field counts vary.
    reasons.update(row.reason.split(":")[0] for row in bad_rows)
    bad_rows.clear()
