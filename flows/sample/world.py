"""The fixed facts of one sample release: date, municipalities with populations, states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from flows.municipalities import ibge_by_tom, municipalities
from flows.sample import text, vocab

RELEASE_DATE = date(2026, 11, 8)
SALES_START = date(2025, 11, 1)
SALES_END = date(2026, 10, 31)  # inclusive
ALPHANUMERIC_FROM = date(2026, 7, 1)
MEI_FROM = date(2009, 7, 1)


@dataclass(frozen=True)
class World:
    """Municipality and state tables shared by the three sources of a release."""

    ufs: tuple[str, ...]  # state siglas, index = uf id
    uf_of_muni: np.ndarray  # uf id per municipality
    tom: pa.Array  # Receita TOM code per municipality
    ibge: tuple[str, ...]
    names: tuple[str, ...]
    population: np.ndarray  # int64 per municipality
    muni_weights: np.ndarray  # probability an establishment is in each municipality
    mapped: np.ndarray  # bool: TOM code is in the IBGE crosswalk
    release_days: int

    @property
    def release_stamp(self) -> str:
        """``D61108`` for 2026-11-08, as in Receita inner file names."""
        return f"D{RELEASE_DATE.year % 10}{RELEASE_DATE:%m%d}"

    @property
    def zip_date_time(self) -> tuple[int, int, int, int, int, int]:
        return (RELEASE_DATE.year, RELEASE_DATE.month, RELEASE_DATE.day, 0, 0, 0)


def build_world(seed: int) -> World:
    """Populations are seeded: capitals near their real size, others log-normal."""
    rng = np.random.default_rng([seed, 1])
    rows = municipalities()
    ufs = tuple(sorted(vocab.STATES))
    uf_index = {uf: i for i, uf in enumerate(ufs)}
    population = np.exp(rng.normal(np.log(12_000), 1.0, size=len(rows)))
    population = np.maximum(population, 800).astype(np.int64)
    for i, municipality in enumerate(rows):
        if municipality.ibge in vocab.CAPITAL_POPULATION:
            population[i] = vocab.CAPITAL_POPULATION[municipality.ibge]
    crosswalk = ibge_by_tom()
    # Establishments per inhabitant grow mildly with city size (services concentrate).
    weights = population.astype(float) ** 1.05
    return World(
        ufs=ufs,
        uf_of_muni=np.array([uf_index[m.uf] for m in rows], dtype=np.int64),
        tom=pa.array([m.tom for m in rows], pa.string()),
        ibge=tuple(m.ibge for m in rows),
        names=tuple(m.name for m in rows),
        population=population,
        muni_weights=weights / weights.sum(),
        mapped=np.array([m.tom in crosswalk for m in rows]),
        release_days=text.to_days(RELEASE_DATE.isoformat()),
    )
