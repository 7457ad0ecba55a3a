"""Where a CNPJ release's outputs live, and how a run replaces them all at once.

A run writes everything under a staging prefix of its own and only when every file is
done swaps it in: the previous output is renamed aside, the staged output renamed into
place, the previous one deleted. Re-running a release therefore replaces its output
exactly, and a run that fails or crashes leaves the previous complete output in place.

Final layout (what DuckDB/Redshift loaders read)::

    trusted/cnpj/<release>/<table>/part-NNNNN.parquet   NNNNN = file part * 1000 + sequence
    trusted/cnpj/<release>/<table>/_SUCCESS.json        parts and row counts, written last
    quarantine/cnpj/<release>/<file>.jsonl

On a local folder both renames are atomic directory renames (a reader may find the table
missing for the instant between them, never half-written). S3 has no rename: the swap
copies object by object, so readers (the warehouse loader) read the parts listed in the
table's ``_SUCCESS.json`` rather than globbing. One run per release at a time: runs hold
the release's lock (``flows.locks``). Keys and the swap itself live in ``flows.layout``.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from flows import layout
from flows.lake import Lake

PARTS_PER_FILE = 1000
ROW_GROUP_ROWS = 256 * 1024


@dataclass(frozen=True)
class Part:
    """One Parquet file written by a run; ``key`` is relative to the table prefix."""

    key: str
    rows: int


class PartWriter:
    """Write a stream of Arrow tables as ``part-NNNNN.parquet`` files of bounded size."""

    def __init__(self, lake: Lake, table_prefix: str, file_part: int, rows_per_part: int):
        self.lake = lake
        self.table_prefix = table_prefix
        self.rows_per_part = rows_per_part
        self._next_number = file_part * PARTS_PER_FILE
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.parts: list[Part] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnpj-parquet")
        self._in_flight: Future | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0 and self._schema is not None:
            return
        if self._schema is None:
            self._schema = table.schema
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        # Batches are small; buffering them into bigger row groups keeps Parquet fast to
        # read. The write itself runs in a thread (Parquet encoding releases the GIL) while
        # the next batches are parsed; one write in flight at most keeps memory bounded.
        if not self._pending:
            return
        tables, self._pending, self._pending_rows = self._pending, [], 0
        self._wait()
        self._in_flight = self._executor.submit(self._write, tables)

    def _wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()  # re-raises a failed write here

    def _write(self, tables: list[pa.Table]) -> None:
        if self._writer is None or self.parts[-1].rows >= self.rows_per_part:
            self._roll()
        table = pa.concat_tables(tables)
        assert self._writer is not None  # _roll() opened one
        self._writer.write_table(table, row_group_size=table.num_rows or None)
        last = self.parts[-1]
        self.parts[-1] = Part(last.key, last.rows + table.num_rows)

    def _roll(self) -> None:
        if self._writer is not None:
            self._writer.close()
        name = f"part-{self._next_number:05d}.parquet"
        self._next_number += 1
        path = self.lake.path(f"{self.table_prefix}/{name}")
        self.lake.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        self._writer = pq.ParquetWriter(path, self._schema, filesystem=self.lake.filesystem)
        self.parts.append(Part(name, 0))

    def close(self) -> list[Part]:
        """Flush and close; a file with no rows at all still gets one empty part."""
        try:
            self._flush()
            self._wait()
            if self._writer is None and self._schema is not None:
                self._roll()
        finally:
            self._executor.shutdown(wait=True)
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self.parts

    def abort(self) -> None:
        """Stop after a failure: close what is open, keep nothing pending."""
        self._pending = []
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None


def publish(lake: Lake, release: str, run_id: str) -> None:
    """Swap the run's staged outputs in place of the release's previous outputs."""
    for zone in layout.CNPJ_ZONES:
        layout.swap_in(
            lake,
            staged=layout.cnpj_staging_prefix(zone, release, run_id),
            final=layout.cnpj_release_prefix(zone, release),
            aside=layout.cnpj_replaced_prefix(zone, release, run_id),
        )


def recover(lake: Lake, release: str) -> None:
    """Undo what a crashed run left: stale staging, or a swap cut between its two moves.

    Call it only while holding the release's lock: then no live run has staging here,
    and what is found belongs to runs that died."""
    for zone in layout.CNPJ_ZONES:
        lake.delete_prefix(layout.cnpj_staging_prefix(zone, release))
        final = layout.cnpj_release_prefix(zone, release)
        layout.recover_swap(lake, final, layout.cnpj_replaced_prefix(zone, release))


def manifest_of(parts: list[Part]) -> dict:
    return {"parts": [asdict(part) for part in parts], "rows": sum(p.rows for p in parts)}
