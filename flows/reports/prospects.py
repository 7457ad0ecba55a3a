"""What the analysis says, for the chosen categories, as a marketing reader needs it.

Reads an analysis output folder (the contract of docs/analysis.md: ``prospects.parquet``
one row per prospect establishment, ``prospect_categories.parquet`` one per establishment
× category, ``potential_by_region.parquet``, ``metrics.json``) and answers for the
categories a report was asked about:

* ``top``: distinct establishments numbered 1..N by expected revenue (R$/month)
  over the chosen categories, with a likelihood band and an identity a salesperson can
  act on (trade name, else the registered name of a legal entity, and its CNPJ;
  nothing of an individual entrepreneur but channel and place: docs/personal-data.md);
* ``regions``: per UF × channel, establishments counted once (never once per category)
  and expected revenue summed over the chosen categories only;
* plain sentences for the gains curve and the typical error (R$ per month).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
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
class Shortlist:
    """What the marketing page shows of the ranking of every prospect (``AnalysisRun.top``):
    the rows ranked ``top_n`` or better overall or in their UF (the columns of
    ``prospects.parquet``, the money over the chosen categories, ``rank`` and
    ``rank_in_uf``, in rank order), the prospects and their expected revenue per UF (index
    ``uf``, in UF order; prospects without a UF are in no UF) and how many were ranked."""

    rows: pd.DataFrame
    per_uf: pd.DataFrame  # index uf; columns prospects, expected_revenue
    total: int


def _number(column: str) -> str:
    """A float column with NaN read as missing, as pandas reads it."""
    return f"CASE WHEN isnan({column}) THEN NULL ELSE {column} END"


@dataclass(frozen=True)
class AnalysisRun:
    """One analysis run's output folder: its small files as DataFrames, its per-prospect
    files (millions of rows at national scale) left in the lake and queried."""

    metrics: dict[str, Any]
    lake: Lake
    folder: str
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
        card = f"{folder}/{MODEL_CARD}"
        potential = pq.read_table(
            lake.path(f"{folder}/{POTENTIAL}"), filesystem=lake.filesystem
        ).to_pandas()
        if not lake.exists(f"{folder}/{PROSPECTS}") or "expected_revenue" not in potential:
            raise OlderAnalysisOutputs(f"{lake.uri(folder)} has no per-establishment prospects")
        return cls(
            metrics=json.loads(lake.read_bytes(f"{folder}/{METRICS}")),
            lake=lake,
            folder=folder,
            potential=potential,
            model_card=lake.read_bytes(card).decode() if lake.exists(card) else "",
        )

    @property
    def prospects(self) -> pd.DataFrame:
        """The whole ``prospects.parquet``, read on each call: only for small runs (tests);
        a report asks ``top`` instead."""
        return pq.read_table(
            self.lake.path(f"{self.folder}/{PROSPECTS}"), filesystem=self.lake.filesystem
        ).to_pandas()

    def chosen(self, categories: list[str] | None) -> list[str]:
        """The report's categories: those asked for that the run scored (all if none)."""
        if not categories:
            return self.categories
        return [c for c in categories if c in self.categories] or list(categories)

    def top(self, categories: list[str] | None = None, top_n: int = 20) -> Shortlist:
        """Every prospect establishment once, ranked 1..N by expected monthly revenue over
        ``categories`` (ties by ``cnpj_hash``; no revenue last) and within its UF
        (``rank_in_uf``, none without a UF), of which only the ``top_n`` best overall and
        per UF are returned, with each UF's count and revenue and the total count. The
        chance of becoming a customer (``p_convert``, its ``likelihood`` band) is the
        establishment's own, the same whatever the categories; only the money follows them:
        over a subset it is summed over those categories' rows of
        ``prospect_categories.parquet``, and an establishment with none drops out.

        DuckDB ranks over the Parquet files as scanned by pyarrow (the lake may be S3),
        in 256 MB of memory, spilling to a temporary folder: nothing is held whole."""
        chosen = self.chosen(categories)
        prospects_file = self.lake.path(f"{self.folder}/{PROSPECTS}")
        scores_file = f"{self.folder}/{PROSPECT_CATEGORIES}"
        subset = set(chosen) != set(self.categories) and self.lake.exists(scores_file)
        prospects = ds.dataset(prospects_file, filesystem=self.lake.filesystem, format="parquet")
        names = prospects.schema.names
        # the old frame's column order: the file's, money moved last over a subset, ranks
        # in their place (or last)
        columns = [c for c in names if not (subset and c in MONEY)]
        columns += [c for c in ("rank", "rank_in_uf") if c not in columns]
        if subset:
            columns += list(MONEY)
        revenue = _number("expected_revenue")
        order = f"ORDER BY {revenue} DESC NULLS LAST, cnpj_hash ASC NULLS LAST"
        with tempfile.TemporaryDirectory(prefix="bigd-shortlist-") as spill:
            con = duckdb.connect()
            try:
                con.execute("SET memory_limit='256MB'")
                con.execute(f"SET temp_directory='{spill}'")
                con.execute("SET preserve_insertion_order=false")
                con.register("prospects_file", prospects)
                if subset:
                    con.register(
                        "scores_file",
                        ds.dataset(
                            self.lake.path(scores_file),
                            filesystem=self.lake.filesystem,
                            format="parquet",
                        ),
                    )
                    sums = ", ".join(f"coalesce(fsum({_number(m)}), 0) AS {m}" for m in MONEY)
                    con.execute(
                        f"CREATE TEMP TABLE money AS SELECT cnpj_hash, {sums} FROM scores_file "
                        "WHERE category IN (SELECT unnest(?)) GROUP BY cnpj_hash",
                        [list(chosen)],
                    )
                    con.execute(
                        "CREATE TEMP VIEW base AS SELECT p.cnpj_hash, p.uf, m.expected_revenue "
                        "FROM prospects_file p JOIN money m USING (cnpj_hash)"
                    )
                else:
                    con.execute(
                        "CREATE TEMP VIEW base AS "
                        "SELECT cnpj_hash, uf, expected_revenue FROM prospects_file"
                    )
                con.execute(
                    "CREATE TEMP TABLE ranked AS SELECT * FROM ("
                    f"SELECT cnpj_hash, ROW_NUMBER() OVER ({order}) AS rank, "
                    "CASE WHEN uf IS NOT NULL THEN "
                    f"ROW_NUMBER() OVER (PARTITION BY uf {order}) END AS rank_in_uf "
                    f"FROM base) WHERE rank <= {int(top_n)} OR rank_in_uf <= {int(top_n)}"
                )
                # ranks from the ranking, money from its sums over a subset, the rest as is
                tables = {"rank": "r", "rank_in_uf": "r"} | dict.fromkeys(
                    MONEY if subset else (), "m"
                )
                picked = ", ".join(f"{tables.get(c, 'p')}.{c}" for c in columns)
                rows = con.sql(
                    f"SELECT {picked} FROM prospects_file p JOIN ranked r USING (cnpj_hash) "
                    + ("JOIN money m USING (cnpj_hash) " if subset else "")
                    + "ORDER BY r.rank"
                ).to_arrow_table()
                regions = (
                    con.sql(
                        f"SELECT uf, count(*) AS prospects, coalesce(fsum({revenue}), 0) "
                        "AS expected_revenue FROM base GROUP BY uf ORDER BY uf NULLS LAST"
                    )
                    .to_arrow_table()
                    .to_pandas()
                )
            finally:
                con.close()
        total = int(regions["prospects"].sum())
        per_uf = regions[regions["uf"].notna()].set_index("uf")
        # the file's types (DuckDB names the UTC zone Etc/UTC, and may widen strings)
        types = {
            c: prospects.schema.field(c).type
            for c in names
            if not (subset and c in MONEY) and c not in ("rank", "rank_in_uf")
        }
        schema = pa.schema([(c, types.get(c, rows.schema.field(c).type)) for c in columns])
        return Shortlist(rows.cast(schema).to_pandas(), per_uf, total)

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
