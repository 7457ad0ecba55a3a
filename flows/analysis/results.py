"""Assemble and write a run's output files from the validated, scored study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.analysis import model_card, outputs, scoring
from flows.analysis.models import MEMBERS
from flows.analysis.study import Prepared, Scored
from flows.analysis.validation import CrossValidation

REGION = scoring.REGION_KEYS[:-1]


def potential_by_region(
    prepared: Prepared, streamed: scoring.Streamed, months: int
) -> pd.DataFrame:
    """UF × city × channel × category: distinct active establishments, customers and
    prospects of the region × channel (the same on every category row), the prospects'
    expected spend and revenue (sums), mean P(convert), the customers' observed sales."""
    data = prepared.data
    places = prepared.features[["cnpj_hash", *REGION]].assign(  # these columns, not a copy of all
        is_customer=prepared.features["cnpj_hash"].isin(data.customers)
    )
    # One row per establishment (the registry read keeps one per cnpj_hash), so a region's
    # row count is its distinct establishments, without hashing millions of ids again.
    counts = places.groupby(REGION, dropna=False, as_index=False, observed=True).agg(
        establishments=("cnpj_hash", "size"), customers=("is_customer", "sum")
    )
    counts[REGION] = counts[REGION].astype(object)  # labels, as the other frames have them
    grid = counts.merge(pd.DataFrame({"category": prepared.categories}), how="cross")
    sums = streamed.regions
    customer_sales = data.monthly_sales[data.monthly_sales["cnpj_hash"].isin(data.customers)]
    located = customer_sales.merge(
        places.loc[places["is_customer"], ["cnpj_hash", *REGION]], on="cnpj_hash"
    )
    located = located[located["category"].isin(prepared.categories)]
    observed = located.groupby(scoring.REGION_KEYS, dropna=False, as_index=False).agg(
        observed_sales=("sales_value", "sum")
    )
    observed["observed_sales"] /= months
    result = grid.merge(sums, on=scoring.REGION_KEYS, how="left").merge(
        observed, on=scoring.REGION_KEYS, how="left"
    )
    money = ["predicted_value", "expected_revenue", "predicted_low", "predicted_high"]
    result[[*money, "observed_sales", "p_convert_sum"]] = result[
        [*money, "observed_sales", "p_convert_sum"]
    ].fillna(0.0)
    result["prospects"] = result["prospects"].fillna(0).astype(np.int64)
    result["mean_p_convert"] = np.where(
        result["prospects"] > 0, result["p_convert_sum"] / result["prospects"].clip(lower=1), 0.0
    )
    return result.sort_values(scoring.REGION_KEYS).reset_index(drop=True)


def write(
    prepared: Prepared,
    cv: CrossValidation,
    holdout: dict,
    scored: Scored,
    importance: pd.DataFrame | None,
    run_id: str,
    output_dir: str,
    top_n: int = 20,
) -> dict:
    """metrics.json, potential_by_region, top_prospects and the model card (the scoring
    streamed prospect_categories.parquet and ranked prospects.parquet); returns the
    metrics."""
    data = prepared.data
    scored_at = scored.scored_at
    ranked = scored.shortlisted  # by rank: the first top_n and the UF × category shortlists
    category_rows = prepared.category_rows()
    metrics = outputs.build_metrics(
        run_id=run_id,
        release=data.release,
        categories=prepared.categories,
        window=data.window.to_dict(),
        rows={
            "establishments": len(prepared.features),
            "customers": int(prepared.known.sum()),
            "hidden_customers": len(prepared.hidden),
            "training_rows": len(prepared.rows),
            "training_rows_before_sampling": prepared.sampled_from,
            "prospects": scored.prospects,
            "prospect_category_rows": scored.streamed.category_rows,
        },
        folds=len(cv.folds),
        models=cv.summary(),
        holdout=holdout,
        weights=cv.weights,
        prospects_scored=scored.prospects,
        conversion=scored.conversion,
        interval=scored.interval,
        extra={
            "members_without_weight": [m for m in MEMBERS if not cv.fold_weights_positive[m]],
            "thin_categories": {c: category_rows[c] for c in sorted(prepared.thin_categories)},
            "category_rows": category_rows,
            "scoring": {"chunks": scored.streamed.chunks, "top_n": top_n},
        },
    )
    region = potential_by_region(prepared, scored.streamed, len(data.window.months))
    best = scoring.shortlist(ranked, scored.streamed.best_by_uf_category, top_n)
    best = best.rename(columns={"rank": "rank_scope"}).assign(
        rank_overall=best["cnpj_hash"].map(ranked.set_index("cnpj_hash")["rank"])
    )
    best = best.rename(columns={"rank_scope": "rank"})
    by_channel = model_card.per_channel_scores(
        prepared.rows, prepared.target, cv.out_of_fold["ensemble"]
    )
    model = scoring.MODEL_ID
    tables = {
        outputs.POTENTIAL_FILE: (region, outputs.POTENTIAL_SCHEMA),
        outputs.TOP_PROSPECTS_FILE: (best, outputs.TOP_PROSPECTS_SCHEMA),
    }
    for name, (frame, schema) in tables.items():
        outputs.write_table(
            output_dir, name, outputs.to_table(frame, schema, run_id, scored_at, model)
        )
    outputs.write_metrics(output_dir, metrics)
    card = model_card.render(metrics, by_channel, importance)
    (outputs.Path(output_dir) / outputs.MODEL_CARD_FILE).write_text(card, encoding="utf-8")
    return metrics
