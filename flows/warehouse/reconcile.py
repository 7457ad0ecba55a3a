"""Row-count reconciliation: trusted rows vs loaded rows, per table and partition."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.engine import Connection

from flows.warehouse.merge import loaded_rows_sql
from flows.warehouse.tables import TrustedInput


@dataclass(frozen=True)
class ReconciliationRow:
    table: str
    partition: str
    trusted_rows: int
    loaded_rows: int

    @property
    def ok(self) -> bool:
        return self.trusted_rows == self.loaded_rows

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


class ReconciliationError(RuntimeError):
    """Loaded rows differ from trusted rows; the load was rolled back."""

    def __init__(self, rows: list[ReconciliationRow]):
        self.rows = rows
        bad = [row for row in rows if not row.ok]
        shown = "; ".join(
            f"{row.table}[{row.partition}] trusted={row.trusted_rows} loaded={row.loaded_rows}"
            for row in bad[:10]
        )
        super().__init__(f"{len(bad)} partition(s) do not reconcile: {shown}")


def reconcile(
    conn: Connection, inputs: list[TrustedInput], dialect: str
) -> list[ReconciliationRow]:
    """Count what the core tables now hold for every trusted partition."""
    rows: list[ReconciliationRow] = []
    for item in inputs:
        loaded = {
            str(label): int(count)
            for label, count in conn.exec_driver_sql(loaded_rows_sql(item, dialect)).fetchall()
        }
        rows.extend(
            ReconciliationRow(item.spec.core, partition, trusted, loaded.get(partition, 0))
            for partition, trusted in sorted(item.trusted_rows.items())
        )
    return rows


def check(rows: list[ReconciliationRow]) -> None:
    """Raise ReconciliationError when any partition differs."""
    if any(not row.ok for row in rows):
        raise ReconciliationError(rows)
