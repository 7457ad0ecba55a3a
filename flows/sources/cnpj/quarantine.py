"""Bad rows of CNPJ files, kept as JSON lines under ``quarantine/cnpj/<release>/<file>.jsonl``.

Restricted zone: a quarantined row is kept as the Receita wrote it, unscrubbed, because
its text is what a person needs to see to understand why it failed. It may therefore
hold personal data (an entrepreneur's name and CPF in ``razao_social``, e-mails,
phones), exactly like the raw zip it came from. Treat ``quarantine/`` with the same
access rules as ``raw/``: never load it into the warehouse or show it in reports.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from types import TracebackType
from typing import IO

from flows.lake import Lake
from flows.sources.cnpj.parse import BadRow


class QuarantineWriter:
    """Append bad rows of one file to one JSON-lines object, created on the first row."""

    def __init__(self, lake: Lake, key: str, file_name: str):
        self.lake = lake
        self.key = key
        self.file_name = file_name
        self.rows = 0
        self._stack = ExitStack()
        self._sink: IO[bytes] | None = None

    def write(self, bad_rows: list[BadRow]) -> None:
        if not bad_rows:
            return
        if self._sink is None:
            self._sink = self._stack.enter_context(self.lake.open_output(self.key))
        lines = (
            json.dumps(
                {"file": self.file_name, "line": row.line, "reason": row.reason, "raw": row.raw},
                ensure_ascii=False,
            )
            + "\n"
            for row in sorted(bad_rows, key=lambda row: row.line)
        )
        self._sink.write("".join(lines).encode("utf-8"))
        self.rows += len(bad_rows)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_quarantine(lake: Lake, key: str) -> list[dict]:
    """The bad rows of one quarantine object (for tests and people looking into a run)."""
    text = lake.read_bytes(key).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line]
