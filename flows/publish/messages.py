"""Messages built from an analysis run's output folder.

The analysis (``run_analysis``) leaves three files in its output folder, the contract
this module reads:

* ``metrics.json``: run id, release, categories, window, cross-validated metrics per
  model, hold-out, ensemble weights and the headline numbers;
* ``potential_by_region.parquet``: one row per region x channel x category;
* ``prospects.parquet``: one row per scored prospect (P(convert), expected spend and
  revenue with its interval, overall rank and rank within the UF).

One ``bigd.potential`` message per potential row (keyed by region), one ``bigd.prospects``
message per prospect establishment (keyed by ``cnpj_hash``), one ``bigd.model-metrics``
message per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.analysis.outputs import (
    METRICS_FILE,
    METRICS_KEYS,
    POTENTIAL_FILE,
    POTENTIAL_SCHEMA,
    PROSPECTS_FILE,
    PROSPECTS_SCHEMA,
)
from flows.lake import Lake
from flows.publish.envelope import Message, Topics, clean, make_message, utc_now

# The contract is flows.analysis.outputs (file names, schemas, metrics keys); a message
# carries every column but the run id, which is the envelope's.
OUTPUT_FILES = (METRICS_FILE, POTENTIAL_FILE, PROSPECTS_FILE)  # the files messages read
POTENTIAL_FIELDS = tuple(name for name in POTENTIAL_SCHEMA.names if name != "run_id")
PROSPECT_FIELDS = tuple(name for name in PROSPECTS_SCHEMA.names if name != "run_id")
METRICS_FIELDS = tuple(key for key in METRICS_KEYS if key != "run_id")


@dataclass(frozen=True)
class AnalysisOutputs:
    """What one analysis run produced."""

    metrics: dict[str, Any]
    potential: pa.Table
    prospects: pa.Table

    @property
    def run_id(self) -> str:
        return str(self.metrics["run_id"])

    @classmethod
    def read(cls, lake: Lake, folder: str) -> AnalysisOutputs:
        """Read the three files from ``folder`` (a key prefix of ``lake``)."""
        folder = folder.strip("/")
        missing = [name for name in OUTPUT_FILES if not lake.exists(f"{folder}/{name}")]
        if missing:
            raise FileNotFoundError(f"{lake.uri(folder)} lacks {', '.join(missing)}")
        metrics = json.loads(lake.read_bytes(f"{folder}/{METRICS_FILE}"))
        potential = pq.read_table(
            lake.path(f"{folder}/{POTENTIAL_FILE}"), filesystem=lake.filesystem
        )
        prospects = pq.read_table(
            lake.path(f"{folder}/{PROSPECTS_FILE}"), filesystem=lake.filesystem
        )
        return cls(metrics=metrics, potential=potential, prospects=prospects)


def _rows(table: pa.Table, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Rows as JSON-safe dicts: NaN becomes null (in Arrow, per column), timestamps and
    dates ISO-8601 (each distinct value converted once, through a dictionary)."""
    columns = []
    for name in fields:
        column = table.column(name)
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            encoded = pc.dictionary_encode(column).combine_chunks()
            texts = [clean(value) for value in encoded.dictionary.to_pylist()]
            indices = encoded.indices.to_pylist()
            columns.append([None if i is None else texts[i] for i in indices])
        else:
            columns.append(column.to_pylist())
    for values in zip(*columns, strict=True):
        yield dict(zip(fields, values, strict=True))


def region_key(row: dict[str, Any]) -> str:
    """The Kafka key of a potential row: its municipality, or its UF when unmapped."""
    return row["ibge_code"] or row["uf"]


def potential_messages(
    table: pa.Table, run_id: str, topics: Topics, produced_at: str | None = None
) -> Iterator[Message]:
    produced_at = produced_at or utc_now()
    for row in _rows(table, POTENTIAL_FIELDS):
        key = region_key(row)
        record = f"{key}|{row['channel']}|{row['category']}"
        yield make_message("potential", topics.potential, run_id, key, record, row, produced_at)


def prospect_messages(
    table: pa.Table, run_id: str, topics: Topics, produced_at: str | None = None
) -> Iterator[Message]:
    produced_at = produced_at or utc_now()
    for row in _rows(table, PROSPECT_FIELDS):
        key = row["cnpj_hash"]
        yield make_message("prospects", topics.prospects, run_id, key, key, row, produced_at)


def metrics_message(metrics: dict[str, Any], topics: Topics, produced_at: str | None = None):
    run_id = str(metrics["run_id"])
    payload = {name: metrics.get(name) for name in METRICS_FIELDS}
    payload = json.loads(json.dumps(payload, default=clean))  # dates and numpy -> JSON
    return make_message(
        "model-metrics",
        topics.model_metrics,
        run_id,
        run_id,
        run_id,
        payload,
        produced_at or utc_now(),
    )


def report_message(
    report: dict[str, Any], run_id: str, topics: Topics, produced_at: str | None = None
) -> Message:
    """``report``: notebook, report_date, status, analyst_html, marketing_html, manifest,
    index, headline, error (as the report store's manifest records them)."""
    key = report["notebook"]
    return make_message(
        "reports", topics.reports, run_id, key, key, report, produced_at or utc_now()
    )


def run_messages(outputs: AnalysisOutputs, topics: Topics) -> Iterator[Message]:
    """Every message of an analysis run, one ``produced_at`` for the whole run."""
    produced_at = utc_now()
    yield metrics_message(outputs.metrics, topics, produced_at)
    yield from potential_messages(outputs.potential, outputs.run_id, topics, produced_at)
    yield from prospect_messages(outputs.prospects, outputs.run_id, topics, produced_at)
