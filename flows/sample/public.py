"""Public datasets of the sample release: POF spending, IPM-NM per UF, population.

The POF file is generated first; the partner's demand signal is then computed from
the *realised* state income and spending in it, so the public data and the sales
agree exactly (see docs/sample-data.md).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.sample import vocab
from flows.sample.world import World

IPM_COLUMNS = (
    "Moradia",
    "Acesso aos serviços de utilidade pública",
    "Saúde e alimentação",
    "Educação",
    "Acesso a serviços financeiros e padrão de vida",
    "Transporte e lazer",
)
_IPM_BASE = np.array([0.18, 0.22, 0.12, 0.30, 0.26, 0.20])


@dataclass(frozen=True)
class RegionalEconomy:
    """What the POF file says per state: weighted mean income and category spending."""

    income: np.ndarray  # (27,) mean monthly household income, R$
    spending: np.ndarray  # (27, categories) mean annual spending per household, R$

    @property
    def national_income(self) -> float:
        return float(self.income.mean())


def _decimal(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}".replace(".", ",")


def write_pof(folder: Path, world: World, seed: int) -> tuple[RegionalEconomy, int]:
    """Households x categories with spending; returns the realised economy and rows."""
    rng = np.random.default_rng([seed, 3])
    names = [name for name, *_ in vocab.CATEGORIES]
    annual_base = np.array([price * units * 2.0 for _, _, price, units in vocab.CATEGORIES])
    income_mean = np.zeros(len(world.ufs))
    spending = np.zeros((len(world.ufs), len(names)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(
        [
            "UF",
            "ESTRATO_POF",
            "COD_UPA",
            "NUM_DOM",
            "NUM_UC",
            "CATEGORIA",
            "V8000_DEFLA",
            "PESO_FINAL",
            "RENDA_TOTAL",
        ]
    )
    rows = 0
    for u, uf in enumerate(world.ufs):
        code, _, _, income = vocab.STATES[uf]
        households = int(rng.integers(40, 70))
        sigma = 0.7
        renda = np.exp(rng.normal(np.log(income) - sigma**2 / 2, sigma, size=households))
        state_households = world.population[world.uf_of_muni == u].sum() / 3.0
        weight = state_households / households * rng.uniform(0.5, 1.5, size=households)
        taste = np.array([vocab.REGIONAL_TASTE.get(name, {}).get(uf, 1.0) for name in names])
        bought = rng.random((households, len(names))) < 0.7
        spend = (
            annual_base[None, :]
            * taste[None, :]
            * (renda[:, None] / 5_000) ** 0.5
            * np.exp(rng.normal(0, 0.5, size=(households, len(names))))
            * bought
        )
        income_mean[u] = np.average(renda, weights=weight)
        spending[u] = np.average(spend, axis=0, weights=weight)
        strata = int(code) * 100 + rng.integers(1, 13, size=households)
        for h in range(households):
            upa = f"{code}{rng.integers(0, 10**7):07d}"
            for c in np.flatnonzero(bought[h]):
                writer.writerow(
                    [
                        code,
                        strata[h],
                        upa,
                        h + 1,
                        1,
                        names[c],
                        _decimal(spend[h, c]),
                        _decimal(weight[h], 8),
                        _decimal(renda[h]),
                    ]
                )
                rows += 1
    (folder / "pof_despesa_alimentar.csv").write_bytes(buffer.getvalue().encode("latin-1"))
    return RegionalEconomy(income=income_mean, spending=spending), rows


def write_ipm_nm(folder: Path, world: World, economy: RegionalEconomy, seed: int) -> int:
    """IPM-NM per state and period; deprivation falls as the POF income rises."""
    rng = np.random.default_rng([seed, 4])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["Código UF", "UF", "Período", *IPM_COLUMNS, "IPM-NM"])
    rows = 0
    for period, worse in (("2008-2009", 1.35), ("2017-2018", 1.0)):
        for u, uf in enumerate(world.ufs):
            z = np.log(economy.income[u] / economy.national_income)
            indicators = _IPM_BASE * worse * np.exp(-1.1 * z) + rng.normal(0, 0.015, size=6)
            indicators = np.clip(indicators, 0.005, 0.95)
            writer.writerow(
                [
                    vocab.STATES[uf][0],
                    uf,
                    period,
                    *(_decimal(v, 3) for v in indicators),
                    _decimal(float(indicators.mean()), 3),
                ]
            )
            rows += 1
    (folder / "ipm_nm_uf.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return rows


def write_population(folder: Path, world: World) -> int:
    """Population of every municipality of the crosswalk (IBGE codes)."""
    with (folder / "populacao_municipios.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["COD_MUNIC", "NOME_MUNIC", "UF", "POPULACAO"])
        for i, ibge in enumerate(world.ibge):
            writer.writerow(
                [ibge, world.names[i], world.ufs[world.uf_of_muni[i]], int(world.population[i])]
            )
    return len(world.ibge)
