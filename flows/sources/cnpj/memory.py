"""How many CNPJ files are parsed at once: as many as fit in memory, not one per file.

A whole ``ingest cnpj`` (this process, Prefect's temporary server, every parse) must stay
within ``WHOLE_COMMAND_MB``. Each parse takes its estimated peak from a shared budget
before it starts and gives it back when it ends; one that does not fit waits. Small
files (the domain tables) run beside a big one; two big ones do not run together.

Figures measured on the 2M-establishment sample release (peak RSS, psutil over the whole
process tree): the command with a tiny release peaks at ~400 MB for this process (Prefect's
engine, Arrow, the scrub policy) and ~270 MB for Prefect's temporary server. Parsing one
file alone adds about 5x its CSV size (one Estabelecimentos file, 42 MB of CSV: +190-220
MB; Simples, 75 MB: +300 MB, where streaming caps it). Parses running together add
somewhat more than the sum (allocator fragmentation across threads): the whole command
peaked at 1,259 MB with two parses at once and at 1,246 MB with a first, looser budget
(3 MB per CSV MB, 350 MB), which let an Estabelecimentos file parse beside a Socios and
an Empresas one. The figures below keep a big file alone (small ones beside it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

WHOLE_COMMAND_MB = 1000
SERVER_MB = 270
PROCESS_MB = 400
PARSE_BUDGET_MB = WHOLE_COMMAND_MB - SERVER_MB - PROCESS_MB
PARSE_BASE_MB = 40  # reader, writer and queue threads, one block in flight
PER_CSV_MB = 5  # per MB of CSV, up to a row group: text, typed copy, pending rows
PARSE_PEAK_MB = 300  # a parse's ceiling: past a row group's worth of CSV it streams


def parse_estimate_mb(csv_bytes: int) -> int:
    """The peak memory of parsing a CSV of ``csv_bytes`` (uncompressed)."""
    return min(PARSE_PEAK_MB, PARSE_BASE_MB + PER_CSV_MB * (csv_bytes >> 20))


class MemoryBudget:
    """Megabytes shared by the parses of one process; a parse waits until its share fits
    (one larger than the whole budget runs alone)."""

    def __init__(self, total_mb: int):
        self.total = total_mb
        self.free = total_mb
        self._changed = threading.Condition()

    @contextmanager
    def take(self, mb: int) -> Iterator[None]:
        mb = min(mb, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.free >= mb)
            self.free -= mb
        try:
            yield
        finally:
            with self._changed:
                self.free += mb
                self._changed.notify_all()


PARSES = MemoryBudget(PARSE_BUDGET_MB)
