"""What the analysis says, for the chosen categories, as a marketing reader needs it.

Reads an analysis output folder (the contract of docs/analysis.md: ``prospects.parquet``
one row per prospect establishment, ``prospect_categories.parquet`` one per establishment
× category, ``potential_by_region.parquet``, ``metrics.json``) and answers for the
categories a report was asked about:

* ``shortlist``: distinct establishments numbered 1..N by expected revenue (R$/month)
  over the chosen categories, with a likelihood band and an identity a salesperson can
  act on (trade name, else the registered name of a legal entity, and its CNPJ;
  nothing of an individual entrepreneur but channel and place: docs/personal-data.md);
* ``regions``: per UF × channel, establishments counted once (never once per category)
  and expected revenue summed over the chosen categories only;
* plain sentences for the gains curve and the typical error (R$ per month).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from flows.lake import Lake

METRICS = "metrics.json"
PROSPECTS = "prospects.parquet"
PROSPECT_CATEGORIES = "prospect_categories.parquet"
MONEY = ("expected_spend", "expected_revenue", "revenue_low", "revenue_high")
TOP_PROSPECTS = "top_prospects.parquet"
POTENTIAL = "potential_by_region.parquet"
MODEL_CARD = "model_card.md"
# Every file a report is made from (archived with it).
REPORT_INPUTS = (METRICS, PROSPECTS, PROSPECT_CATEGORIES, TOP_PROSPECTS, POTENTIAL, MODEL_CARD)
PERSON_OWNED = "Empreendedor individual"
CHANNELS_PT = {
    "restaurant": "Restaurantes",
    "snack_bar": "Lanchonetes",
    "bar": "Bares",
    "bar_with_entertainment": "Bares com entretenimento",
    "buffet_events": "Bufês e eventos",
    "hypermarket": "Hipermercados",
    "supermarket": "Supermercados",
    "minimarket": "Minimercados",
    "wholesale": "Atacado",
}
SMALL_WORDS = {"de", "da", "do", "das", "dos", "e", "di", "du"}


def channel_pt(channel: str | None) -> str:
    """A channel code as the business calls it (``bar_with_entertainment`` → ``Bares com
    entretenimento``)."""
    return CHANNELS_PT.get(channel or "", (channel or "sem canal").replace("_", " "))


def place_name(name: object) -> str:
    """Registry capitals as a person writes them: ``VILA DA SAUDE`` → ``Vila da Saude``."""
    if name is None or (isinstance(name, float) and pd.isna(name)) or not str(name).strip():
        return "—"
    words = str(name).strip().lower().split()
    return " ".join(
        word if index and word in SMALL_WORDS else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    )


def cnpj_text(digits: object) -> str:
    """``11222333000181`` → ``11.222.333/0001-81``."""
    text = "" if digits is None or pd.isna(digits) else str(digits)
    if len(text) != 14:
        return text or "—"
    return f"{text[:2]}.{text[2:5]}.{text[5:8]}/{text[8:12]}-{text[12:]}"


class OlderAnalysisOutputs(ValueError):
    """The folder predates the per-establishment outputs (no ``prospects.parquet`` or no
    expected revenue per region): its rows cannot be shown as a shortlist honestly."""


@dataclass(frozen=True)
class AnalysisRun:
    """One analysis run's output files, as DataFrames."""

    metrics: dict[str, Any]
    prospects: pd.DataFrame
    # chosen categories -> their rows of ``prospect_categories.parquet`` (the big file:
    # one row per prospect x category), read only when a report asks for a subset, only
    # those categories' rows and only the money columns; None when the run has no file.
    category_scores: Callable[[list[str]], pd.DataFrame] | None
    potential: pd.DataFrame
    model_card: str = ""

    @property
    def categories(self) -> list[str]:
        return list(self.metrics.get("categories") or [])

    @classmethod
    def read(cls, lake: Lake, folder: str) -> AnalysisRun:
        folder = folder.strip("/")
        missing = [n for n in (METRICS, POTENTIAL) if not lake.exists(f"{folder}/{n}")]
        if missing:
            raise FileNotFoundError(f"{lake.uri(folder)} lacks {', '.join(missing)}")

        def table(name: str) -> pd.DataFrame | None:
            key = f"{folder}/{name}"
            if not lake.exists(key):
                return None
            return pq.read_table(lake.path(key), filesystem=lake.filesystem).to_pandas()

        def category_scores(chosen: list[str]) -> pd.DataFrame:
            return pq.read_table(
                lake.path(f"{folder}/{PROSPECT_CATEGORIES}"),
                filesystem=lake.filesystem,
                columns=["cnpj_hash", *MONEY],
                filters=[("category", "in", list(chosen))],
            ).to_pandas()

        card = f"{folder}/{MODEL_CARD}"
        potential = table(POTENTIAL)
        if (
            not lake.exists(f"{folder}/{PROSPECTS}")
            or potential is None
            or "expected_revenue" not in potential
        ):
            raise OlderAnalysisOutputs(f"{lake.uri(folder)} has no per-establishment prospects")
        return cls(
            metrics=json.loads(lake.read_bytes(f"{folder}/{METRICS}")),
            prospects=table(PROSPECTS),
            category_scores=(
                category_scores if lake.exists(f"{folder}/{PROSPECT_CATEGORIES}") else None
            ),
            potential=potential,
            model_card=lake.read_bytes(card).decode() if lake.exists(card) else "",
        )

    def chosen(self, categories: list[str] | None) -> list[str]:
        """The report's categories: those asked for that the run scored (all if none)."""
        if not categories:
            return self.categories
        return [c for c in categories if c in self.categories] or list(categories)

    def shortlist(self, categories: list[str] | None = None) -> pd.DataFrame:
        """Every prospect establishment once, ranked 1..N by expected monthly revenue over
        ``categories`` (ties by ``cnpj_hash``), with ``rank_in_uf``. The chance of becoming
        a customer (``p_convert``, its ``likelihood`` band) is the establishment's own, the
        same whatever the categories; only the money follows them."""
        chosen = self.chosen(categories)
        frame = self.prospects.copy()
        if set(chosen) != set(self.categories) and self.category_scores is not None:
            totals = self.category_scores(chosen).groupby("cnpj_hash")[list(MONEY)].sum()
            frame = frame.drop(columns=list(totals.columns)).join(
                totals, on="cnpj_hash", how="inner"
            )
        frame = frame.sort_values(["expected_revenue", "cnpj_hash"], ascending=[False, True])
        frame = frame.reset_index(drop=True)
        frame["rank"] = range(1, len(frame) + 1)
        frame["rank_in_uf"] = frame.groupby("uf").cumcount() + 1
        return frame

    def regions(self, categories: list[str] | None = None) -> pd.DataFrame:
        """Per UF × channel over ``categories``: establishments, customers and prospects
        counted once per establishment (a region's count is the same on each category
        row, so it is taken once per municipality, not summed over categories), and
        expected revenue, its interval and observed sales summed over the categories."""
        chosen = self.chosen(categories)
        rows = self.potential[self.potential.category.isin(chosen)]
        place = ["uf", "ibge_code", "channel"]
        counts = rows.groupby(place)[["establishments", "customers", "prospects"]].max()
        money = rows.groupby(place)[
            ["expected_revenue", "predicted_low", "predicted_high", "observed_sales"]
        ].sum(min_count=1)
        per_city = counts.join(money).reset_index()
        return (
            per_city.groupby(["uf", "channel"], as_index=False)
            .agg(
                establishments=("establishments", "sum"),
                customers=("customers", "sum"),
                prospects=("prospects", "sum"),
                expected_revenue=("expected_revenue", "sum"),
                revenue_low=("predicted_low", "sum"),
                revenue_high=("predicted_high", "sum"),
                observed_sales=("observed_sales", "sum"),
            )
            .sort_values(["expected_revenue", "uf", "channel"], ascending=[False, True, True])
            .reset_index(drop=True)
        )

    def gains(self) -> list[dict[str, float]]:
        """The cumulative gains of the hidden-customer test (empty if the run has none)."""
        return list((self.metrics.get("conversion") or {}).get("gains") or [])

    def reached_at(self, share: float = 0.1) -> tuple[float, float] | None:
        """(customers, revenue) reached calling the top ``share`` of the list."""
        for point in self.gains():
            if abs(float(point["share_called"]) - share) < 1e-9:
                return float(point["customers_reached"]), float(point["revenue_reached"])
        return None


def identity(row: Any) -> tuple[str, str]:
    """(name, CNPJ) a salesperson can act on; an individual entrepreneur shows neither."""
    if bool(getattr(row, "person_owned", False)):
        return PERSON_OWNED, "—"
    for name in (getattr(row, "trade_name", None), getattr(row, "legal_name", None)):
        if name is not None and not pd.isna(name) and str(name).strip():
            return str(name).strip(), cnpj_text(getattr(row, "cnpj", None))
    return "(sem nome no cadastro)", cnpj_text(getattr(row, "cnpj", None))
