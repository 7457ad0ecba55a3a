"""The analysis's output files: their schemas, writing them, and reading them back.

The flow (and the delivery stage) read these files, never the notebook's cells:

    metrics.json                 METRICS_KEYS (docs/analysis.md)
    potential_by_region.parquet  POTENTIAL_SCHEMA
    top_prospects.parquet        PROSPECTS_SCHEMA
    model_card.md
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd

METRICS_FILE = "metrics.json"
POTENTIAL_FILE = "potential_by_region.parquet"
PROSPECTS_FILE = "top_prospects.parquet"
MODEL_CARD_FILE = "model_card.md"
OUTPUT_FILES = (METRICS_FILE, POTENTIAL_FILE, PROSPECTS_FILE, MODEL_CARD_FILE)

STAMP = pa.timestamp("us", tz="UTC")
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
        ("predicted_value", pa.float64()),
        ("predicted_low", pa.float64()),
        ("predicted_high", pa.float64()),
        ("observed_sales", pa.float64()),
        ("model", pa.string()),
    ]
)
PROSPECTS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("scored_at", STAMP),
        ("prospect_rank", pa.int32()),
        ("cnpj_hash", pa.string()),
        ("nome_fantasia", pa.string()),
        ("channel", pa.string()),
        ("category", pa.string()),
        ("uf", pa.string()),
        ("ibge_code", pa.string()),
        ("city", pa.string()),
        ("neighbourhood", pa.string()),
        ("score", pa.float64()),
        ("predicted_low", pa.float64()),
        ("predicted_high", pa.float64()),
        ("model", pa.string()),
    ]
)
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


def headline(models: dict, prospects_scored: int) -> dict[str, float | int]:
    """The few numbers a reader looks at first."""
    ensemble = models["ensemble"]["rmse"]["mean"]
    baseline = models["baseline"]["rmse"]["mean"]
    return {
        "ensemble_rmse": ensemble,
        "baseline_rmse": baseline,
        "improvement_vs_baseline": 1 - ensemble / baseline if baseline else 0.0,
        "ensemble_r2": models["ensemble"]["r2"]["mean"],
        "prospects_scored": int(prospects_scored),
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
    holdout_month: str,
    holdout: dict,
    weights: dict[str, float],
    prospects_scored: int,
) -> dict:
    """metrics.json, with exactly the documented keys."""
    return {
        "run_id": run_id,
        "release": release,
        "categories": list(categories),
        "window": {"start": window["start"], "end": window["end"]},
        "rows": {key: int(value) for key, value in rows.items()},
        "cv": {"folds": int(folds), "grouping": "establishment"},
        "models": models,
        "holdout": {"month": holdout_month, "models": holdout},
        "ensemble_weights": weights,
        "headline": headline(models, prospects_scored),
    }


def write_outputs(
    folder: Path | str,
    metrics: dict,
    potential: pa.Table,
    prospects: pa.Table,
    model_card: str,
) -> Path:
    """Write the four files into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    pq.write_table(potential.cast(POTENTIAL_SCHEMA), folder / POTENTIAL_FILE)
    pq.write_table(prospects.cast(PROSPECTS_SCHEMA), folder / PROSPECTS_FILE)
    (folder / MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
    return folder


def read_outputs(folder: Path | str) -> dict:
    """``{"metrics": dict, "potential_by_region": pa.Table, "top_prospects": pa.Table,
    "model_card": str}``, each checked against its documented schema."""
    folder = Path(folder)
    missing = [name for name in OUTPUT_FILES if not (folder / name).is_file()]
    if missing:
        raise OutputError(f"{folder}: missing output files {', '.join(missing)}")
    metrics = json.loads((folder / METRICS_FILE).read_text())
    absent = [key for key in METRICS_KEYS if key not in metrics]
    if absent:
        raise OutputError(f"{METRICS_FILE}: missing keys {', '.join(absent)}")
    tables = {}
    for name, schema in ((POTENTIAL_FILE, POTENTIAL_SCHEMA), (PROSPECTS_FILE, PROSPECTS_SCHEMA)):
        table = pq.read_table(folder / name)
        if not table.schema.equals(schema, check_metadata=False):
            raise OutputError(f"{name}: schema {table.schema} is not the documented {schema}")
        tables[name.removesuffix(".parquet")] = table
    return {
        "metrics": metrics,
        **tables,
        "model_card": (folder / MODEL_CARD_FILE).read_text(encoding="utf-8"),
    }
