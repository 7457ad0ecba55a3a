"""How many CNPJ files are parsed at once: as many as fit in memory, not one per file.

A whole ``ingest cnpj`` (this process, Prefect's temporary server, every parse) must stay
within ``WHOLE_COMMAND_MB``. Each parse takes its estimated peak from a shared budget
before it starts and gives it back when it ends; one that does not fit waits. Small
files (the domain tables) run beside a big one; two big ones do not run together.

Figures measured on the 2M-establishment sample release (peak RSS, psutil over the whole
process tree, ``benchmarks/bench_command``), 2026-12-01: this process holds ~175 MB once
Prefect's engine runs (~230 MB when it starts Prefect's temporary server, whose code it
then imports); the project server ~315 MB at the command's peak, the temporary server
~280 MB. Parsing one file alone adds (RSS, serial): Empresas (11 MB of CSV) ~110 MB,
Socios (15 MB) ~70 MB, Estabelecimentos (42 MB) ~150 MB, Simples (75 MB) ~130 MB, where
streaming caps it. ``PROCESS_MB`` keeps room above this process's own ~175 MB for what
the allocators hold after the parses that ran (mimalloc and glibc keep freed pages per
thread). With the budget below the whole command peaked at 794-811 MB with the project
server (its own processes 480-500 MB) and at 877 MB with the temporary server.

History: the command peaked at 1,246-1,259 MB with looser budgets that let big files
parse together, and at 1,060-1,126 MB with this one, because every parsed file's reader
(its read-ahead buffers, 3-5 MB) was never freed (a cycle through Arrow's C++ handler,
``parse._InvalidRows``). Arrow also read up to 32 blocks ahead of the parse
(``parse._ReadAhead`` bounds it: a 5M-row file peaked at 720 MB, now ~490 MB), and
mimalloc kept freed pages for a while (``MIMALLOC_PURGE_DELAY=0``, ``flows/__init__.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

WHOLE_COMMAND_MB = 1000
# The split below sets the parse budget (330 MB); together the server and this process
# measure ~490-545 MB before any parse, the rest of the 670 MB is the allocators' slack.
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
