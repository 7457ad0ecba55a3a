"""The guard every full-table source passes before it replaces its trusted table.

A source that answers with nothing, with only invalid records, or with far fewer rows
than the table it would replace is more likely broken than right (an API returning
``[]`` on a bad day, a truncated export). Replacing the trusted table would silently
empty the warehouse at the next load, so the run fails instead and the previous table
stays. An operator who knows the source really shrank re-runs with the explicit
override (``--allow-shrink``); the run summary then records that it was used.

Rules, checked in order (``fetched`` records arrived, ``rejected`` of them invalid,
``rows`` valid and distinct, ``previous`` rows in the trusted table):

1. ``fetched == 0`` or ``rows == 0``: refused (empty, or all invalid);
2. ``rejected / fetched`` above ``BIGD_MAX_BAD_ROW_RATE``: refused (the rate CNPJ files
   are held to);
3. ``rows`` below ``previous × (1 - BIGD_MAX_TABLE_SHRINK)``: refused.

Each is let through, and recorded, only with the override.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_SHRINK = 0.5


class TableGuardError(RuntimeError):
    """A full table would replace the trusted one with too little; nothing was replaced."""


@dataclass(frozen=True)
class TableGuard:
    """The limits a full table is held to and whether the operator overrode them."""

    max_bad_row_rate: float = 0.001
    max_shrink: float = DEFAULT_MAX_SHRINK
    allow_shrink: bool = False

    def check(
        self, name: str, fetched: int, rejected: int, rows: int, previous: int | None
    ) -> str | None:
        """Raise :class:`TableGuardError` if ``name`` must not replace its trusted table;
        return a note (for the run summary) when the override let a violation through."""
        problem = self.problem(fetched, rejected, rows, previous)
        if problem is None:
            return None
        if self.allow_shrink:
            return f"{name}: {problem} (accepted by --allow-shrink)"
        kept = f"the previous {previous:,} rows are kept" if previous else "nothing was replaced"
        raise TableGuardError(
            f"{name}: {problem}; {kept} (re-run with --allow-shrink if the source really shrank)"
        )

    def problem(self, fetched: int, rejected: int, rows: int, previous: int | None) -> str | None:
        """What is wrong with ``rows`` valid rows (of ``fetched`` records, ``rejected``
        invalid) replacing ``previous`` trusted rows; None when nothing is."""
        if fetched == 0:
            return "the source answered with no records"
        if rows == 0:
            return f"all {fetched:,} records were invalid"
        rate = rejected / fetched
        if rate > self.max_bad_row_rate:
            return (
                f"{rejected:,} of {fetched:,} records invalid ({rate:.2%}), above "
                f"BIGD_MAX_BAD_ROW_RATE {self.max_bad_row_rate:.2%}"
            )
        if previous and rows < previous * (1 - self.max_shrink):
            return (
                f"{rows:,} rows would replace {previous:,} (shrinks by "
                f"{1 - rows / previous:.0%}, above BIGD_MAX_TABLE_SHRINK {self.max_shrink:.0%})"
            )
        return None
