"""The analysis's output files: their schemas, writing them, and reading them back.

The flow (and the delivery stage) read these files, never the notebook's cells:

    metrics.json                 METRICS_KEYS (docs/analysis.md)
    potential_by_region.parquet  POTENTIAL_SCHEMA
    prospects.parquet            PROSPECTS_SCHEMA (one row per scored prospect)
    prospect_categories.parquet  PROSPECT_CATEGORIES_SCHEMA (prospect × category, streamed)
    top_prospects.parquet        TOP_PROSPECTS_SCHEMA (the shortlist)
    model_card.md
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd

METRICS_FILE = "metrics.json"
POTENTIAL_FILE = "potential_by_region.parquet"
PROSPECTS_FILE = "prospects.parquet"
PROSPECT_CATEGORIES_FILE = "prospect_categories.parquet"
TOP_PROSPECTS_FILE = "top_prospects.parquet"
MODEL_CARD_FILE = "model_card.md"
OUTPUT_FILES = (
    METRICS_FILE,
    POTENTIAL_FILE,
    PROSPECTS_FILE,
    PROSPECT_CATEGORIES_FILE,
    TOP_PROSPECTS_FILE,
    MODEL_CARD_FILE,
)

STAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.float64()
POTENTIAL_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("scored_at", STAMP),
        ("uf", pa.string()),
        ("ibge_code", pa.string()),
        ("city", pa.string()),
        ("channel", pa.string()),
        ("category", pa.string()),
        ("establishments", pa.int64()),
        ("customers", pa.int64()),
        ("prospects", pa.int64()),
        ("predicted_value", MONEY),
        ("expected_revenue", MONEY),
        ("mean_p_convert", pa.float64()),
        ("predicted_low", MONEY),
        ("predicted_high", MONEY),
        ("observed_sales", MONEY),
        ("model", pa.string()),
    ]
)
_PROSPECT_FIELDS = [
    ("cnpj_hash", pa.string()),
    ("cnpj", pa.string()),
    ("trade_name", pa.string()),
    ("legal_name", pa.string()),
    ("person_owned", pa.bool_()),
    ("channel", pa.string()),
    ("uf", pa.string()),
    ("ibge_code", pa.string()),
    ("city", pa.string()),
    ("neighbourhood", pa.string()),
    ("p_convert", pa.float64()),
    ("expected_spend", MONEY),
    ("expected_revenue", MONEY),
    ("revenue_low", MONEY),
    ("revenue_high", MONEY),
    ("likelihood", pa.string()),
]
PROSPECTS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("scored_at", STAMP),
        *_PROSPECT_FIELDS,
        ("rank", pa.int64()),
        ("rank_in_uf", pa.int64()),
        ("model", pa.string()),
    ]
)
PROSPECT_CATEGORIES_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("cnpj_hash", pa.string()),
        ("category", pa.string()),
        ("p_convert", pa.float64()),
        ("expected_spend", MONEY),
        ("expected_revenue", MONEY),
        ("revenue_low", MONEY),
        ("revenue_high", MONEY),
    ]
)
TOP_PROSPECTS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("scored_at", STAMP),
        ("scope", pa.string()),
        ("category", pa.string()),
        ("rank", pa.int64()),
        *_PROSPECT_FIELDS,
        ("rank_overall", pa.int64()),
        ("rank_in_uf", pa.int64()),
        ("model", pa.string()),
    ]
)
TABLE_SCHEMAS = {
    POTENTIAL_FILE: POTENTIAL_SCHEMA,
    PROSPECTS_FILE: PROSPECTS_SCHEMA,
    PROSPECT_CATEGORIES_FILE: PROSPECT_CATEGORIES_SCHEMA,
    TOP_PROSPECTS_FILE: TOP_PROSPECTS_SCHEMA,
}
METRICS_KEYS = (
    "run_id",
    "release",
    "categories",
    "window",
    "rows",
    "cv",
    "models",
    "holdout",
    "ensemble_weights",
    "headline",
    "conversion",
    "interval",
)


class OutputError(ValueError):
    """An output file is missing or does not have its documented schema."""


def to_table(frame: pd.DataFrame, schema: pa.Schema, run_id: str, scored_at: dt.datetime, model):
    """The frame's schema columns (plus run id, time and model) as a typed Arrow table."""
    import pandas as pd  # here only: the delivery stage reads this module's contract

    frame = frame.assign(run_id=run_id, scored_at=pd.Timestamp(scored_at), model=model)
    columns = {}
    for column in schema:
        values = frame[column.name]
        if pa.types.is_string(column.type):
            values = values.astype(object).where(values.notna(), None)
        columns[column.name] = pa.array(values, type=column.type, from_pandas=True)
    return pa.table(columns, schema=schema)


def headline(
    models: dict, prospects_scored: int, conversion: dict, typical_error: float | None
) -> dict[str, float | int | None]:
    """The few numbers a reader looks at first (None: the run could not measure it)."""
    ensemble = models["ensemble"]["rmse"]["mean"]
    baseline = models["baseline"]["rmse"]["mean"]
    top10: dict[str, Any] = next(
        (g for g in conversion.get("gains", []) if g["share_called"] == 0.1), {}
    )
    return {
        "ensemble_rmse": ensemble,
        "baseline_rmse": baseline,
        "improvement_vs_baseline": 1 - ensemble / baseline if baseline else 0.0,
        "ensemble_r2": models["ensemble"]["r2"]["mean"],
        "prospects_scored": int(prospects_scored),
        "top_decile_lift": conversion.get("top_decile_lift"),
        "auc": conversion.get("auc"),
        "top10_customers_reached": top10.get("customers_reached"),
        "top10_revenue_reached": top10.get("revenue_reached"),
        "typical_error_brl_month": typical_error,
    }


def build_metrics(
    *,
    run_id: str,
    release: str,
    categories: list[str],
    window: dict[str, str],
    rows: dict[str, int],
    folds: int,
    models: dict,
    holdout: dict,
    weights: dict[str, float],
    prospects_scored: int,
    conversion: dict,
    interval: dict,
    extra: dict | None = None,
) -> dict:
    """metrics.json, with the documented keys (``extra``: further documented sections)."""
    return {
        "run_id": run_id,
        "release": release,
        "categories": list(categories),
        "window": {"start": window["start"], "end": window["end"]},
        "rows": {key: int(value) for key, value in rows.items()},
        "cv": {"folds": int(folds), "grouping": "establishment"},
        "models": models,
        "holdout": holdout,
        "ensemble_weights": weights,
        "headline": headline(
            models, prospects_scored, conversion, interval.get("typical_error_brl_month")
        ),
        "conversion": conversion,
        "interval": interval,
        **(extra or {}),
    }


def write_metrics(folder: Path | str, metrics: dict) -> None:
    text = json.dumps(metrics, indent=2, ensure_ascii=False, default=_plain) + "\n"
    (Path(folder) / METRICS_FILE).write_text(text)


def _plain(value):
    """numpy numbers (and NaN as null is left to json: NaN stays NaN) to JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def write_table(folder: Path | str, name: str, table: pa.Table) -> None:
    pq.write_table(table.cast(TABLE_SCHEMAS[name]), Path(folder) / name)


def read_outputs(folder: Path | str, tables: tuple[str, ...] | None = None) -> dict:
    """``{"metrics": dict, "potential_by_region": pa.Table, "prospects": pa.Table,
    "top_prospects": pa.Table, "model_card": str}``, every file checked against its
    documented schema (``prospect_categories`` is checked, not read: it is the big one;
    ``tables`` limits which tables are read)."""
    folder = Path(folder)
    missing = [name for name in OUTPUT_FILES if not (folder / name).is_file()]
    if missing:
        raise OutputError(f"{folder}: missing output files {', '.join(missing)}")
    metrics = json.loads((folder / METRICS_FILE).read_text())
    absent = [key for key in METRICS_KEYS if key not in metrics]
    if absent:
        raise OutputError(f"{METRICS_FILE}: missing keys {', '.join(absent)}")
    read = {}
    for name, schema in TABLE_SCHEMAS.items():
        found = pq.read_schema(folder / name)
        if not found.equals(schema, check_metadata=False):
            raise OutputError(f"{name}: schema {found} is not the documented {schema}")
        key = name.removesuffix(".parquet")
        if name != PROSPECT_CATEGORIES_FILE and (tables is None or key in tables):
            read[key] = pq.read_table(folder / name)
    return {
        "metrics": metrics,
        **read,
        "model_card": (folder / MODEL_CARD_FILE).read_text(encoding="utf-8"),
    }
