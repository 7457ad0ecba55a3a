"""Scoring prospects in chunks: P(convert), expected monthly spend as a customer and
expected revenue, per prospect × category and per prospect, with an interval.

    expected_spend[category] = purchase rate of the channel for the category (months
        with a purchase / customer-months, so months without one count) × the spend
        ensemble's value of a month's purchase (the baseline for a thin category)
    expected_revenue = P(convert) × expected_spend          (R$ per month)

``score_chunk`` is pure (a chunk of establishments + the fitted models in, frames out),
so the chunks can be mapped anywhere: in this process, or on a Dask cluster
(``scoring_client``: a local cluster of worker processes, or a scheduler's address), the
same function on the same chunks, the results taken back in order with a bounded number
of chunks in flight, so both give the same files. ``score_in_chunks`` streams the
per-prospect and per-category rows to Parquet files and keeps only what is small: the
running top N per UF × category, regional sums and one float per prospect.
``write_ranked`` ranks the per-prospect file out of core (DuckDB sorts it, spilling to
disk) and writes prospects.parquet a batch at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from flows.analysis import features as F
from flows.analysis.memory import release as release_memory

if TYPE_CHECKING:
    from distributed import Client

    from flows.analysis.conversion import ConversionModel
    from flows.analysis.models import Ensemble, MedianBaseline

MODEL_ID = "prospects/2: conversion lookalike x demand ensemble"
REGION_KEYS = ["uf", "ibge_code", "city", "channel", "category"]
INTERVAL = (0.10, 0.90)
IDENTITY = ["cnpj_hash", "channel", "uf", "ibge_code", "city", "neighbourhood"]
CATEGORY_COLUMNS = [
    "cnpj_hash",
    "category",
    "p_convert",
    "expected_spend",
    "expected_revenue",
    "revenue_low",
    "revenue_high",
]


def interval_factors(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Multipliers (low, high) of a prediction covering 80 % of the given outcomes."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    valid = (observed > 0) & (predicted > 0)
    if not valid.any():
        return 1.0, 1.0
    low, high = np.quantile(np.log(observed[valid] / predicted[valid]), INTERVAL)
    return float(np.exp(low)), float(np.exp(high))


def coverage(observed: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of outcomes inside [low, high]."""
    observed = np.asarray(observed, float)
    return float(np.mean((observed >= low) & (observed <= high))) if len(observed) else np.nan


@dataclass
class ScoringModels:
    """Everything fitted that scoring needs (picklable: a cluster worker can hold it)."""

    spend: Ensemble
    baseline: MedianBaseline
    thin_categories: frozenset[str]
    levels: dict[str, list[str]]
    rates: pd.DataFrame  # channel, category, purchase_rate
    pof: pd.DataFrame
    categories: list[str]
    month: str  # YYYY-MM scored
    conversion: ConversionModel
    factors: tuple[float, float] = (1.0, 1.0)


def score_chunk(chunk: pd.DataFrame, models: ScoringModels) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per establishment, one row per establishment × category) for a chunk of
    featured establishments (look-alike columns and ``fold`` included)."""
    p_convert = models.conversion.predict(chunk)
    grid = chunk[GRID_COLUMNS].merge(pd.DataFrame({"category": models.categories}), how="cross")
    grid["month"] = models.month
    grid["month_of_year"] = int(models.month[5:7])
    grid = F.with_category(grid, models.pof)
    matrix = F.model_matrix(grid, models.levels)
    value = models.spend.predict(matrix)
    thin = grid["category"].isin(models.thin_categories).to_numpy()
    if thin.any():
        value[thin] = models.baseline.predict(matrix[thin])
    rate = grid.merge(models.rates, on=["channel", "category"], how="left")["purchase_rate"]
    low, high = models.factors
    per_category = pd.DataFrame(
        {
            "cnpj_hash": grid["cnpj_hash"].to_numpy(),
            "category": grid["category"].to_numpy(),
            "p_convert": np.repeat(p_convert, len(models.categories)),
            "expected_spend": rate.fillna(0.0).to_numpy() * value,
        }
    )
    per_category["expected_revenue"] = per_category["p_convert"] * per_category["expected_spend"]
    per_category["revenue_low"] = per_category["expected_revenue"] * low
    per_category["revenue_high"] = per_category["expected_revenue"] * high
    spend = per_category.groupby("cnpj_hash", sort=False)["expected_spend"].sum()
    prospect = chunk[[c for c in chunk.columns if c in PROSPECT_KEEP]].copy()
    prospect["p_convert"] = p_convert
    prospect["expected_spend"] = spend.reindex(chunk["cnpj_hash"]).to_numpy()
    prospect["expected_revenue"] = prospect["p_convert"] * prospect["expected_spend"]
    prospect["revenue_low"] = prospect["expected_revenue"] * low
    prospect["revenue_high"] = prospect["expected_revenue"] * high
    return prospect.reset_index(drop=True), per_category


# What the prospect × category grid needs of a chunk (the rest would only be copied ×
# categories): the spend features but those the grid adds, and the keys it joins on.
GRID_ADDS = ("category", "month_of_year", "pof_category_spending")
GRID_COLUMNS = list(
    dict.fromkeys(["cnpj_hash", "uf_code", *(f for f in F.FEATURES if f not in GRID_ADDS)])
)
PROSPECT_KEEP = {
    *IDENTITY,
    "cnpj",
    "razao_social",
    "nome_fantasia",
    "natureza_juridica",
    "opcao_mei",
}


@dataclass
class Streamed:
    """What scoring in chunks keeps: small by construction (the per-prospect and
    per-category rows went to files as they were made)."""

    best_by_uf_category: pd.DataFrame  # CATEGORY_COLUMNS + uf, the top N per UF × category
    regions: pd.DataFrame  # REGION_KEYS + sums
    spend: np.ndarray  # expected_spend per prospect, in the order scored (8 bytes a prospect)
    prospects: int = 0
    category_rows: int = 0
    chunks: int = 0


def chunks_of(frame: pd.DataFrame, chunk_size: int, rows: np.ndarray | None = None):
    """``frame``'s rows (those where ``rows`` is true), ``chunk_size`` at a time, in order;
    each chunk is a copy of its rows only (never a copy of every selected row at once)."""
    chunk_size = max(1, int(chunk_size))
    positions = np.arange(len(frame)) if rows is None else np.flatnonzero(rows)
    for start in range(0, len(positions), chunk_size):
        yield frame.iloc[positions[start : start + chunk_size]]


def score_in_chunks(
    chunks: Iterable[pd.DataFrame],
    models: ScoringModels,
    top_n: int,
    write_categories: Callable[[pd.DataFrame], None],
    write_prospects: Callable[[pd.DataFrame], None],
    progress: Callable[[str], None] = print,
    client: Client | None = None,
) -> Streamed:
    """Score the chunks (here, or on the Dask ``client``'s workers, in order either way);
    the per-prospect and per-category rows go to ``write_prospects`` and
    ``write_categories`` as they are made, never all in memory."""
    best: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None
    spends: list[np.ndarray] = []
    prospects = rows = chunks_done = 0
    for prospect, per_category in scored_chunks(chunks, models, client):
        write_categories(per_category)
        write_prospects(prospect)
        spends.append(prospect["expected_spend"].to_numpy(dtype=float))
        located = per_category.merge(prospect[[*REGION_KEYS[:-1], "cnpj_hash"]], on="cnpj_hash")
        best = _keep_best(best, located[[*CATEGORY_COLUMNS, "uf"]], top_n)
        regions = _add_regions(regions, located)
        prospects += len(prospect)
        rows += len(per_category)
        chunks_done += 1
        if chunks_done % 20 == 0:  # the allocators keep what the chunks freed otherwise
            release_memory()
        progress(f"scored {prospects:,} prospects")
    if best is None or regions is None:
        raise ValueError("nothing to score")
    return Streamed(best, regions, np.concatenate(spends), prospects, rows, chunks_done)


LOCAL_WORKERS = 2  # worker processes of scoring_cluster="local" (one thread each)


@contextmanager
def scoring_client(cluster: str | None, workers: int = LOCAL_WORKERS) -> Iterator[Client | None]:
    """Where the chunks are scored: ``None`` in this process (no client); ``"local"`` a
    local Dask cluster of ``workers`` processes on 127.0.0.1, started here; ``"dask"`` the
    flows' Dask setting (the scheduler at ``BIGD_DASK_ADDRESS``, a local cluster when it is
    unset); anything else is a scheduler's address (``tcp://host:8786``), whose workers
    must be able to import this package. What is started here is closed on every exit."""
    if not cluster:
        yield None
        return
    from distributed import Client, LocalCluster

    if cluster == "dask":
        from flows.config import get_settings

        cluster = get_settings().dask_address or "local"
    if cluster != "local":
        with Client(cluster) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        Client(local) as client,
    ):
        yield client


def scored_chunks(
    chunks: Iterable[pd.DataFrame],
    models: ScoringModels,
    client: Client | None = None,
    in_flight: int | None = None,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """``score_chunk`` of each chunk, in the chunks' order. With a Dask ``client`` the
    models are sent to every worker once, and at most ``in_flight`` chunks (default: two
    per worker thread) are on the cluster at a time: the next is sent only when the oldest is
    back, so memory stays bounded however many prospects there are."""
    if client is None:
        for chunk in chunks:
            yield score_chunk(chunk, models)
        return
    limit = in_flight or 2 * max(1, sum(client.nthreads().values()))
    [shared] = client.scatter([models], broadcast=True, hash=False)
    pending: deque = deque()
    try:
        for chunk in chunks:
            [data] = client.scatter([chunk], hash=False)
            pending.append(client.submit(score_chunk, data, shared, pure=False))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.cancel([*pending, shared])


def _keep_best(best: pd.DataFrame | None, new: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The top ``top_n`` rows per UF × category of the rows so far (ties by cnpj_hash)."""
    both = new if best is None else pd.concat([best, new], ignore_index=True)
    both = both.sort_values(
        ["uf", "category", "expected_revenue", "cnpj_hash"], ascending=[True, True, False, True]
    )
    return both[both.groupby(["uf", "category"]).cumcount() < top_n].reset_index(drop=True)


def _add_regions(regions: pd.DataFrame | None, located: pd.DataFrame) -> pd.DataFrame:
    """Running per-region sums (prospects counted once per category row: distinct)."""
    part = located.groupby(REGION_KEYS, dropna=False, as_index=False).agg(
        prospects=("cnpj_hash", "size"),
        predicted_value=("expected_spend", "sum"),
        expected_revenue=("expected_revenue", "sum"),
        p_convert_sum=("p_convert", "sum"),
        predicted_low=("revenue_low", "sum"),
        predicted_high=("revenue_high", "sum"),
    )
    if regions is None:
        return part
    both = pd.concat([regions, part], ignore_index=True)
    return both.groupby(REGION_KEYS, dropna=False, as_index=False).sum()


SCORES = ["p_convert", "expected_spend", "expected_revenue", "revenue_low", "revenue_high"]
# The per-prospect rows as scoring writes them, before ranking (a scratch file).
UNRANKED_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in [*IDENTITY, *sorted(PROSPECT_KEEP - set(IDENTITY))]),
        *((name, pa.float64()) for name in SCORES),
    ]
)
RANK_MEMORY = "256MB"  # DuckDB's memory for the sort; beyond it, it spills to disk
RANK_BATCH_ROWS = 50_000


def unranked_table(prospect: pd.DataFrame) -> pa.Table:
    """A chunk's per-prospect rows in ``UNRANKED_SCHEMA`` (a column the registry read did
    not have is null)."""
    columns = {}
    for column in UNRANKED_SCHEMA:
        if column.name not in prospect:
            columns[column.name] = pa.nulls(len(prospect), column.type)
            continue
        values = prospect[column.name]
        if pa.types.is_string(column.type):
            values = values.astype(object).where(values.notna(), None)
        columns[column.name] = pa.array(values, type=column.type, from_pandas=True)
    return pa.table(columns, schema=UNRANKED_SCHEMA)


def ranked_batches(
    unranked: Path, scratch: Path, batch_rows: int = RANK_BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """The per-prospect file's rows by expected revenue (ties by cnpj_hash; a missing
    revenue last), with ``rank`` and ``rank_in_uf``, ``batch_rows`` at a time. DuckDB
    sorts the file within ``RANK_MEMORY``, spilling to ``scratch``; the ranks are counted
    here as the sorted batches go by."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": RANK_MEMORY,
        "temp_directory": str(scratch),
    }
    with duckdb.connect(config=config) as con:
        reader = con.sql(
            "SELECT * FROM read_parquet(?) "
            "ORDER BY expected_revenue DESC NULLS LAST, cnpj_hash ASC NULLS LAST",
            params=[str(unranked)],
        ).to_arrow_reader(batch_rows)
        if reader is None:  # a query that returns rows always has a reader
            return
        done, per_uf = 0, dict[str | None, int]()
        for batch in reader:
            frame = batch.to_pandas()
            frame["rank"] = np.arange(done + 1, done + len(frame) + 1, dtype=np.int64)
            codes, states = pd.factorize(frame["uf"], use_na_sentinel=False)
            keys = [None if pd.isna(state) else state for state in states]
            before = np.array([per_uf.get(key, 0) for key in keys], dtype=np.int64)
            within = pd.Series(codes).groupby(codes).cumcount().to_numpy() + 1
            frame["rank_in_uf"] = before[codes] + within
            for number, key in enumerate(keys):
                per_uf[key] = per_uf.get(key, 0) + int((codes == number).sum())
            done += len(frame)
            yield frame


def likelihood(p_convert: pd.Series, base_rate: float) -> pd.Series:
    """``alta`` (at least 3× the base rate of conversion), ``média`` (at least the base
    rate), ``baixa`` (below it)."""
    labels = np.where(
        p_convert >= 3 * base_rate, "alta", np.where(p_convert >= base_rate, "média", "baixa")
    )
    return pd.Series(labels, index=p_convert.index)


def with_identity(prospects: pd.DataFrame, person_owned_forms: frozenset[str]) -> pd.DataFrame:
    """cnpj, trade name and legal name (``razao_social``), null for businesses owned by one
    person (their names can be the owner's own name, the scrub's pseudonym of it is no
    name, and a CNPJ of an individual is personal data). An establishment whose legal form
    is unknown (no ``core.companies`` row) counts as person-owned: shown without identity."""
    frame = prospects.copy()
    nature = frame["natureza_juridica"]
    personal = nature.isin(person_owned_forms) | nature.isna()
    if "opcao_mei" in frame:
        personal |= frame["opcao_mei"].eq("S")
    frame["person_owned"] = personal.to_numpy()
    for target, source in (
        ("cnpj", "cnpj"),
        ("trade_name", "nome_fantasia"),
        ("legal_name", "razao_social"),
    ):
        values = frame[source] if source in frame else pd.Series(None, index=frame.index)
        blank = values.isna() | values.astype("string").str.strip().eq("")
        frame[target] = values.where(~personal & ~blank, None)  # "" is no name to show
    return frame


def shortlist(ranked: pd.DataFrame, best: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The best ``top_n`` overall (by the prospect's expected revenue over the categories)
    and per UF × category (by the category's expected revenue; the score columns are then
    the category's); distinct establishments within each scope."""
    overall = ranked.head(top_n).assign(scope="overall", category=None)
    per_group = best.sort_values(
        ["uf", "category", "expected_revenue", "cnpj_hash"], ascending=[True, True, False, True]
    )
    per_group = per_group.assign(rank=per_group.groupby(["uf", "category"]).cumcount() + 1)
    scores = [c for c in CATEGORY_COLUMNS if c not in ("cnpj_hash", "category")]
    detail = ranked.drop(columns=[*scores, "rank", "uf"]).set_index("cnpj_hash")
    per_group = per_group.join(detail, on="cnpj_hash").assign(scope="uf_category")
    return pd.concat([overall, per_group], ignore_index=True)
