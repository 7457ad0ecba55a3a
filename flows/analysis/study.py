"""The notebook's steps as functions: prepare, validate, convert, score, write outputs.

The notebook calls these in order and tells the story around them; tests and the
benchmarks call them too, so what the notebook runs is what is tested.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from flows.analysis import conversion as C
from flows.analysis import features as F
from flows.analysis import outputs, scoring
from flows.analysis.data import WarehouseData, person_owned_forms
from flows.analysis.memory import release as release_memory
from flows.analysis.models import MEMBERS, Ensemble, ModelSizes
from flows.analysis.validation import (
    CrossValidation,
    cross_validate,
    fit_all,
    grouped_folds,
    permutation_importance,
    time_holdout,
)

THIN_CATEGORY_ROWS = 500  # fewer training rows: the category is scored by the baseline
# Prospects scored at a time. A chunk's prospect x category grid and model matrices are
# the scoring's working memory: measured on 28 categories, 5,000 take ~120 MB above the
# rest, 20,000 ~620 MB, at the same ~0.58 ms a prospect (2026-12-06, README).
SCORING_CHUNK = 5_000


@dataclass
class Prepared:
    """The training rows and everything derived from the warehouse read."""

    data: WarehouseData
    categories: list[str]
    features: pd.DataFrame  # one row per active establishment of the channels (+ fold)
    rows: pd.DataFrame  # spend training rows (visible customer × category × month)
    levels: dict[str, list[str]]
    rates: pd.DataFrame
    sampled_from: int  # training rows before sampling
    hidden: set[str]  # customers hidden from every model, for the validation
    hidden_share: float

    @property
    def matrix(self) -> pd.DataFrame:
        return F.model_matrix(self.rows, self.levels)

    @property
    def target(self) -> np.ndarray:
        return self.rows[F.TARGET].to_numpy(dtype=float)

    @property
    def known(self) -> np.ndarray:
        """Per establishment: a customer of the partner."""
        return self.features["cnpj_hash"].isin(self.data.customers).to_numpy()

    @property
    def visible(self) -> np.ndarray:
        """Per establishment: a customer the models may learn from (not hidden)."""
        return self.known & ~self.features["cnpj_hash"].isin(self.hidden).to_numpy()

    def category_rows(self) -> dict[str, int]:
        return self.rows["category"].value_counts().reindex(self.categories, fill_value=0).to_dict()

    @property
    def thin_categories(self) -> frozenset[str]:
        return frozenset(c for c, n in self.category_rows().items() if n < THIN_CATEGORY_ROWS)


def sample_establishments(rows: pd.DataFrame, sample_size: int, seed: int) -> pd.DataFrame:
    """At most about ``sample_size`` rows, keeping or leaving whole establishments."""
    if not sample_size or len(rows) <= sample_size:
        return rows
    hashes = rows["cnpj_hash"].unique()
    rng = np.random.default_rng(seed)
    keep = rng.choice(
        hashes, size=max(2, int(len(hashes) * sample_size / len(rows))), replace=False
    )
    return rows[rows["cnpj_hash"].isin(set(keep))].reset_index(drop=True)


def prepare(
    data: WarehouseData,
    categories: list[str] | None,
    sample_size: int,
    seed: int,
    hidden_share: float = 0.2,
    folds: int = 5,
) -> Prepared:
    """Features per establishment (with a fold number), the customers hidden for the
    validation, spend training rows of the others (sampled by establishment), rates."""
    sold = data.monthly_sales
    categories = sorted(categories or sold["category"].dropna().unique())
    # Built in the registry frame itself (one frame of a few million rows at national
    # size, not two); ``data.establishments`` is then that frame, features included.
    features = F.establishment_features(
        data.establishments, data.regions, data.pof, data.window.stop_day, in_place=True
    )
    data.establishments = features
    features["fold"] = C.assign_folds(len(features), folds, seed)
    hidden = C.hide_customers(features["cnpj_hash"], data.customers, hidden_share, seed)
    rows = F.training_rows(features, sold, data.pof, categories)
    rows = rows[(rows[F.TARGET] > 0) & ~rows["cnpj_hash"].isin(hidden)]
    if rows["cnpj_hash"].nunique() < 10:
        raise ValueError(
            f"only {rows['cnpj_hash'].nunique()} customers bought {categories} in "
            f"{data.window.start}..{data.window.end}: too few to validate a model"
        )
    sampled = sample_establishments(rows, sample_size, seed)
    located = features["cnpj_hash"].isin(data.customers - hidden)  # not a set of millions
    visible = set(features.loc[located, "cnpj_hash"])
    rates = F.purchase_rates(sold, features, visible, len(data.window.months))
    rates = rates[rates["category"].isin(categories)]
    levels = F.category_levels(features, pd.DataFrame({"category": categories}))
    release_memory()
    return Prepared(
        data, categories, features, sampled, levels, rates, len(rows), hidden, hidden_share
    )


def validate(prepared: Prepared, folds: int, sizes: ModelSizes, seed: int, progress=print):
    """Grouped cross-validation of the spend models and the grouped time holdout."""
    matrix, target = prepared.matrix, prepared.target
    split = grouped_folds(prepared.rows["cnpj_hash"], folds, seed)
    cv = cross_validate(matrix, target, split, sizes, seed, progress=progress)
    holdout = time_holdout(
        matrix, target, prepared.rows["month"], prepared.rows["cnpj_hash"], cv.weights, sizes, seed
    )
    progress(f"time holdout on {holdout['month']} done")
    return cv, holdout["month"], holdout


def held_out_importance(prepared: Prepared, cv: CrossValidation, seed: int) -> pd.DataFrame:
    """Permutation importance of the last fold's ensemble on that fold's held-out rows."""
    _, test = cv.folds[-1]
    ensemble = Ensemble({n: cv.last_fold_models[n] for n in MEMBERS}, cv.weights)
    return permutation_importance(
        ensemble.predict,
        prepared.matrix.iloc[test],
        prepared.target[test],
        F.importance_groups(),
        seed,
    )


@dataclass
class Conversion:
    """The production conversion model, its featured frame, and the validation's P."""

    model: C.ConversionModel
    featured: pd.DataFrame  # every establishment, look-alike columns from all customers
    validation_p: np.ndarray  # per establishment, the model trained without the hidden ones


def convert(prepared: Prepared, sizes: ModelSizes, seed: int, progress=print) -> Conversion:
    """Fit the look-alike model twice: without the hidden customers (the validation) and
    with every customer (the ranking). The look-alike columns are set in
    ``prepared.features`` itself (the ranking's last), which is ``featured``: no copy."""
    trees = sizes.conversion_trees
    _, _, validation_p = C.fit_predict(
        prepared.features, prepared.visible, trees, seed, in_place=True
    )
    progress(f"conversion validation model fitted ({len(prepared.hidden):,} customers hidden)")
    release_memory()
    model, featured, _ = C.fit_predict(
        prepared.features, prepared.known, trees, seed, in_place=True
    )
    progress("conversion model fitted on every customer")
    release_memory()
    return Conversion(model, featured, validation_p)


@dataclass
class Scored:
    streamed: scoring.Streamed
    prospects: int  # prospects scored (and ranked in prospects.parquet)
    shortlisted: pd.DataFrame  # ranked rows, with identity, of the shortlists' prospects
    conversion: dict  # metrics.json "conversion"
    interval: dict  # metrics.json "interval"
    scored_at: dt.datetime


def observed_monthly_sales(prepared: Prepared, hashes) -> pd.Series:
    """R$ per month each establishment bought in the window (the run's categories)."""
    sales = prepared.data.monthly_sales
    sales = sales[sales["category"].isin(prepared.categories) & sales["cnpj_hash"].isin(hashes)]
    total = sales.groupby("cnpj_hash")["sales_value"].sum() / len(prepared.data.window.months)
    return total.reindex(list(hashes), fill_value=0.0)


def scoring_models(prepared: Prepared, cv: CrossValidation, conv: Conversion, sizes, seed):
    """Every spend member fitted on all the visible rows, and the conversion model."""
    models = fit_all(prepared.matrix, prepared.target, sizes, seed)
    return scoring.ScoringModels(
        spend=Ensemble({n: models[n] for n in MEMBERS}, cv.weights),
        baseline=models["baseline"],
        thin_categories=prepared.thin_categories,
        levels=prepared.levels,
        rates=prepared.rates,
        pof=prepared.data.pof,
        categories=prepared.categories,
        month=str(pd.Period(prepared.data.window.end, freq="M") + 1),
        conversion=conv.model,
    )


def calibrate_interval(prepared: Prepared, conv: Conversion, models) -> tuple[dict, pd.Series]:
    """Score the hidden customers (unseen by every model) as prospects; calibrate the 80 %
    interval of an establishment's monthly revenue on half of them, measure its coverage
    on the other half. Returns the interval section and the hidden customers' spend."""
    hidden = conv.featured[conv.featured["cnpj_hash"].isin(prepared.hidden)]
    if len(hidden) < 10:
        return {"nominal": 0.8, "coverage": None, "basis": "too few hidden customers"}, pd.Series()
    prospect, _ = scoring.score_chunk(hidden, models)
    spend = prospect.set_index("cnpj_hash")["expected_spend"]
    observed = observed_monthly_sales(prepared, spend.index)
    half = np.arange(len(spend)) % 2 == 0
    factors = scoring.interval_factors(observed[half], spend[half])
    check_obs, check_pred = observed[~half].to_numpy(), spend[~half].to_numpy()
    section = {
        "nominal": 0.8,
        "coverage": scoring.coverage(check_obs, check_pred * factors[0], check_pred * factors[1]),
        "basis": f"hidden customers never seen by any model: factors from {int(half.sum())}, "
        f"coverage measured on the other {int((~half).sum())}",
        "factors": list(factors),
        "typical_error_brl_month": float(np.mean(np.abs(check_obs - check_pred))),
    }
    return section, spend


def score(
    prepared: Prepared,
    cv: CrossValidation,
    conv: Conversion,
    sizes: ModelSizes,
    seed: int,
    output_dir: str,
    run_id: str,
    top_n: int = 20,
    chunk_size: int = SCORING_CHUNK,
    progress=print,
    cluster: str | None = None,
) -> Scored:
    """Score every non-customer in chunks (here, or on the Dask ``cluster``: see
    ``scoring.scoring_client``), the per-category rows streamed to
    prospect_categories.parquet and the per-prospect rows to a scratch file; rank that
    file out of core into prospects.parquet; validate the ranking on the hidden
    customers. What is held in memory does not grow with the prospects but by one float
    each (on top of the featured frame the notebook already holds)."""
    models = scoring_models(prepared, cv, conv, sizes, seed)
    interval, hidden_spend = calibrate_interval(prepared, conv, models)
    models.factors = tuple(interval.get("factors", (1.0, 1.0)))
    prospects = ~prepared.known
    if not prospects.any():
        raise ValueError(
            "nothing to score: every active establishment of the channels in scope is already "
            "a customer of the partner (a release this small has no prospects)"
        )
    scored_at = dt.datetime.now(dt.UTC)
    chunks = scoring.chunks_of(conv.featured, chunk_size, prospects)
    base_rate = float(prepared.known.mean())
    streamed, shortlisted = score_and_rank(
        chunks, models, output_dir, run_id, scored_at, top_n, base_rate, progress, cluster
    )
    check = _conversion_check(prepared, conv, streamed.spend, hidden_spend)
    return Scored(streamed, streamed.prospects, shortlisted, check, interval, scored_at)


def score_and_rank(
    chunks,
    models: scoring.ScoringModels,
    output_dir: str,
    run_id: str,
    scored_at: dt.datetime,
    top_n: int,
    base_rate: float,
    progress=print,
    cluster: str | None = None,
) -> tuple[scoring.Streamed, pd.DataFrame]:
    """Score the chunks into prospect_categories.parquet and a scratch per-prospect file,
    then rank that file out of core into prospects.parquet (a batch at a time). Returns
    what scoring kept and the ranked rows of the shortlists' prospects (the first
    ``top_n``, and those of the UF × category shortlists)."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    schema = outputs.PROSPECT_CATEGORIES_SCHEMA
    with tempfile.TemporaryDirectory(prefix="bigd-scoring-") as scratch:
        unranked = Path(scratch) / "prospects_unranked.parquet"
        with (
            pq.ParquetWriter(folder / outputs.PROSPECT_CATEGORIES_FILE, schema) as categories,
            pq.ParquetWriter(unranked, scoring.UNRANKED_SCHEMA) as per_prospect,
            scoring.scoring_client(cluster) as client,
        ):

            def write_categories(frame: pd.DataFrame) -> None:
                categories.write_table(outputs.to_table(frame, schema, run_id, scored_at, ""))

            def write_prospects(frame: pd.DataFrame) -> None:
                per_prospect.write_table(scoring.unranked_table(frame))

            streamed = scoring.score_in_chunks(
                chunks, models, top_n, write_categories, write_prospects, progress, client
            )
        release_memory()  # what the chunks freed, before DuckDB's sort takes its share
        keep = set(streamed.best_by_uf_category["cnpj_hash"])
        person_owned = person_owned_forms()  # read from the scrub policy once, not per batch
        shortlisted = []
        with pq.ParquetWriter(folder / outputs.PROSPECTS_FILE, outputs.PROSPECTS_SCHEMA) as out:
            for ranked in scoring.ranked_batches(unranked, Path(scratch)):
                ranked["likelihood"] = scoring.likelihood(ranked["p_convert"], base_rate)
                ranked = scoring.with_identity(ranked, person_owned)
                out.write_table(
                    outputs.to_table(
                        ranked, outputs.PROSPECTS_SCHEMA, run_id, scored_at, scoring.MODEL_ID
                    )
                )
                shortlisted.append(
                    ranked[(ranked["rank"] <= top_n) | ranked["cnpj_hash"].isin(keep)]
                )
    progress(f"ranked {streamed.prospects:,} prospects into {outputs.PROSPECTS_FILE}")
    return streamed, pd.concat(shortlisted, ignore_index=True)


def _conversion_check(prepared, conv, prospect_spend: np.ndarray, hidden_spend) -> dict:
    """Where the hidden customers land among all candidates (non-customers + hidden):
    ``prospect_spend`` is the non-customers' expected spend, in the features' order."""
    hashes = prepared.features["cnpj_hash"]
    hidden = hashes.isin(prepared.hidden).to_numpy()
    spend = np.zeros(len(hashes))
    spend[~prepared.known] = prospect_spend
    spend[hidden] = hidden_spend.reindex(hashes[hidden]).to_numpy(dtype=float)
    spend = np.where(np.isnan(spend), 0.0, spend)
    candidate = ~prepared.visible
    p_val = np.asarray(conv.validation_p, dtype=float)[candidate]
    hidden = hidden[candidate]
    revenue = np.zeros(len(p_val))
    revenue[hidden] = observed_monthly_sales(prepared, hashes[candidate][hidden]).to_numpy()
    return C.validation_metrics(
        p_val * spend[candidate], p_val, hidden, revenue, prepared.hidden_share
    )
