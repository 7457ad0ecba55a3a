"""Public datasets of the sample release, in the formats IBGE publishes them.

- ``public/Dados_20230713.zip``: the POF microdata members Big D reads, fixed-width ASCII with
  CRLF in the published layouts (``flows/catalog/public.yaml``): ``MORADOR`` (one record per
  person, family weights and income), ``CADERNETA_COLETIVA`` (the 7-day food diary),
  ``DESPESA_INDIVIDUAL`` (quadro 24, food away from home) and ``MORADOR_QUALI_VIDA`` (each
  person's weighted count of deprivations, the input of IPM-NM).
- ``public/POP2025_20260113.xlsx``: the population estimates workbook in the real sheet layout.

Families' income is drawn around each state's level; food spending grows with income and
regional tastes, deprivation falls with it. The demand signal of the partner's sales is then
computed from the *realised* figures of these files, by the same formulas Big D applies (POF
spending per family, IPM-NM), so the public data and the sales agree exactly (see
docs/sample-data.md).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.sample import vocab
from flows.sample.fixed_width import format_records
from flows.sample.spreadsheet import write_xlsx
from flows.sample.world import World
from flows.sources.public.catalog import Catalog, load_catalog
from flows.sources.public.datasets import IPM_CUTOFF
from flows.sources.public.pof import monthly_value

MICRODATA = "Dados_20230713.zip"
POPULATION = "POP2025_20260113.xlsx"
WEEKS_PER_YEAR = 52  # FATOR_ANUALIZACAO of the 7-day diary
AWAY_SHARE = 0.3  # of a drink's spending that is bought away from home (quadro 24)
# The sample's weights are larger than IBGE's (a few dozen families stand for a state), so
# they get 6 decimal places instead of 8 to fit the 14-character field.
PLACES = {"PESO": 6, "PESO_FINAL": 6, "RENDA_TOTAL": 2, "CONTAGEM_PONDERADA": 10}
PLACES |= {"FATOR_ANUALIZACAO": 0, "V9011": 0, "V8000_DEFLA": 2, "V8000": 2}


@dataclass(frozen=True)
class RegionalEconomy:
    """What the sample's public files say per state (index = position in ``world.ufs``)."""

    spending: np.ndarray  # (27, categories) mean monthly spending per family, R$ (NaN: no POF)
    ipm_nm: np.ndarray  # (27,) IPM-NM, 0-100
    income: np.ndarray  # (27,) weighted mean monthly family income, R$ (drives the draws)

    @property
    def national_ipm_nm(self) -> float:
        return float(self.ipm_nm.mean())


def write_microdata(folder: Path, world: World, seed: int) -> tuple[RegionalEconomy, dict]:
    """Write the POF zip; returns the realised economy and the records per member."""
    rng = np.random.default_rng([seed, 3])
    catalog = load_catalog()
    names = [name for name, *_ in vocab.CATEGORIES]
    codes = _category_codes(catalog, names)
    weekly_base = np.array([price * units * 2.0 for _, _, price, units in vocab.CATEGORIES]) / 52
    columns: dict[str, dict[str, list]] = {m: {} for m in _MEMBERS}
    states = len(world.ufs)
    spent, family_weight = np.zeros((states, len(names))), np.zeros(states)
    income, deprivation, person_weight = np.zeros(states), np.zeros(states), np.zeros(states)

    for u, uf in enumerate(world.ufs):
        code, _, _, mean_income = vocab.STATES[uf]
        families = int(rng.integers(40, 70))
        sigma = 0.7
        renda = np.exp(rng.normal(np.log(mean_income) - sigma**2 / 2, sigma, size=families))
        state_families = world.population[world.uf_of_muni == u].sum() / 3.0
        # Rounded as written, so the realised figures below are exactly what the files hold.
        weight = np.round(state_families / families * rng.uniform(0.5, 1.5, size=families), 6)
        persons = rng.integers(1, 6, size=families)
        taste = np.array([vocab.REGIONAL_TASTE.get(name, {}).get(uf, 1.0) for name in names])
        upa = [f"{code}{n:07d}" for n in rng.choice(10**7, size=families, replace=False)]
        stratum = int(code) * 100 + rng.integers(1, 13, size=families)
        situation = np.where(rng.random(families) < 0.8, 1, 2)
        family = {"UF": code, "ESTRATO_POF": stratum, "TIPO_SITUACAO_REG": situation}
        family |= {"COD_UPA": upa, "NUM_DOM": np.arange(1, families + 1), "NUM_UC": 1}
        family |= {"PESO_FINAL": weight, "RENDA_TOTAL": renda}

        # Persons: MORADOR and MORADOR_QUALI_VIDA (deprivation falls with family income).
        who = np.repeat(np.arange(families), persons)
        informant = np.concatenate([np.arange(1, p + 1) for p in persons])
        count = np.round(
            np.clip(
                0.1 * (renda[who] / 5_000) ** -0.8 * np.exp(rng.normal(0, 0.5, len(who))), 0, 1
            ),
            10,
        )
        people = _rows(family, who) | {"COD_INFORMANTE": informant}
        _extend(columns["MORADOR"], people | {"PESO": weight[who] * 0.97})
        _extend(columns["MORADOR_QUALI_VIDA"], people | {"CONTAGEM_PONDERADA": count})

        # Food at home (diary) and drinks away from home (quadro 24), one record per purchase.
        bought = (rng.random((families, len(names))) < 0.7) & (codes["home"] >= 0)[None, :]
        weekly = (
            weekly_base[None, :]
            * taste[None, :]
            * (renda[:, None] / 5_000) ** 0.5
            * np.exp(rng.normal(0, 0.5, size=(families, len(names))))
        )
        f, c = np.nonzero(bought)
        away = (codes["away"][c] >= 0) & (rng.random(len(c)) < 0.5)
        home_value = np.round(np.where(away, 1 - AWAY_SHARE, 1.0) * weekly[f, c], 2)
        diary = _rows(family, f) | {"QUADRO": 63, "V9001": _v9001(codes["home"][c], rng)}
        diary |= {"V8000_DEFLA": home_value, "FATOR_ANUALIZACAO": WEEKS_PER_YEAR}
        other = rng.choice(families, size=families // 2, replace=False)  # no partner category
        extra = _rows(family, other) | {
            "QUADRO": 63,
            "V9001": _v9001(np.full(len(other), 66001), rng),
        }
        extra |= {"V8000_DEFLA": np.round(rng.uniform(2, 30, len(other)), 2)}
        _extend(columns["CADERNETA_COLETIVA"], diary)
        _extend(columns["CADERNETA_COLETIVA"], extra | {"FATOR_ANUALIZACAO": WEEKS_PER_YEAR})
        fa, ca = f[away], c[away]
        away_value = np.round(AWAY_SHARE * weekly[fa, ca], 2)
        individual = _rows(family, fa) | {"COD_INFORMANTE": 1, "QUADRO": 24}
        individual |= {"V9001": _v9001(codes["away"][ca], rng), "V8000_DEFLA": away_value}
        _extend(columns["DESPESA_INDIVIDUAL"], individual | {"FATOR_ANUALIZACAO": 52})

        # The realised figures, by IBGE's formulas (what Big D will compute from the files).
        monthly = monthly_value(home_value, WEEKS_PER_YEAR, weight[f])
        np.add.at(spent[u], c, monthly)
        np.add.at(spent[u], ca, monthly_value(away_value, WEEKS_PER_YEAR, weight[fa]))
        family_weight[u] = weight.sum()
        income[u] = np.average(renda, weights=weight)
        value = np.expm1(count) / (math.e - 1)  # math.e: numpy stubs confuse mypy on np.e
        intensity = np.where(value > IPM_CUTOFF, (value - IPM_CUTOFF) / (1 - IPM_CUTOFF), 0)
        deprivation[u] = (weight[who] * intensity).sum()
        person_weight[u] = weight[who].sum()

    counts = _write_zip(folder / MICRODATA, catalog, columns, world.zip_date_time)
    spending = spent / family_weight[:, None]
    spending[:, codes["home"] < 0] = np.nan  # categories without a POF equivalent
    economy = RegionalEconomy(spending, 100 * deprivation / person_weight, income)
    return economy, counts


_MEMBERS = ("CADERNETA_COLETIVA", "DESPESA_INDIVIDUAL", "MORADOR", "MORADOR_QUALI_VIDA")


def _category_codes(catalog: Catalog, names: list[str]) -> dict[str, np.ndarray]:
    """Per category one product code at home and one away from home (-1: none), from the map."""
    assert catalog.category_map is not None
    home, away = np.full(len(names), -1), np.full(len(names), -1)
    for i, name in enumerate(names):
        entry = catalog.category_map.categories[name]
        at_home = [code for code in entry.codes if not 24_000 <= code < 25_000]
        away_codes = [code for code in entry.codes if 24_000 <= code < 25_000]
        home[i] = at_home[0] if at_home else -1
        away[i] = away_codes[0] if away_codes else -1
    return {"home": home, "away": away}


def _v9001(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """7-digit V9001: the 5-digit product code and two digits of detail (truncated away)."""
    return codes * 100 + rng.integers(0, 100, size=len(codes))


def _rows(family: dict, index: np.ndarray) -> dict:
    """The family fields repeated for each record that belongs to ``family[index]``."""
    return {
        key: (np.asarray(value)[index] if np.ndim(value) else np.full(len(index), value))
        for key, value in family.items()
    }


def _extend(target: dict[str, list], values: dict) -> None:
    size = max(len(v) for v in values.values() if np.ndim(v))
    for key, value in values.items():
        column = np.asarray(value) if np.ndim(value) else np.full(size, value)
        target.setdefault(key, []).append(column)


def _write_zip(
    path: Path, catalog: Catalog, columns: dict, when: tuple[int, int, int, int, int, int]
) -> dict:
    counts = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in _MEMBERS:
            layout = catalog.layouts[member]
            known = {item.name for item in layout.fields}
            values = {
                key: np.concatenate(parts) for key, parts in columns[member].items() if key in known
            }
            info = zipfile.ZipInfo(f"{member}.txt", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, format_records(layout, values, PLACES))
            counts[f"{member}.txt"] = len(next(iter(values.values())))
    return counts


def write_population(folder: Path, world: World, seed: int) -> int:
    """The estimates workbook: title, header, mixed text/number cells, footnotes, notes."""
    rng = np.random.default_rng([seed, 4])
    total = int(world.population.sum())
    states = [
        [uf, int(world.population[world.uf_of_muni == u].sum())] for u, uf in enumerate(world.ufs)
    ]
    rows: list[list] = [
        ["ESTIMATIVAS DA POPULAÇÃO RESIDENTE NOS MUNICÍPIOS BRASILEIROS COM DATA DE REFERÊNCIA "
         "EM 1º DE JULHO DE 2025"],
        ["UF", "COD. UF", "COD. MUNIC", "NOME DO MUNICÍPIO", "POPULAÇÃO ESTIMADA"],
    ]  # fmt: skip
    notes: list[str] = []
    for i, ibge in enumerate(world.ibge):
        uf = world.ufs[world.uf_of_muni[i]]
        people = int(world.population[i])
        # IBGE's cells: the municipality code is text in some rows and a number in others.
        municipality = ibge[2:] if rng.random() < 0.5 else float(int(ibge[2:]))
        cells: list = [uf, float(ibge[:2]), municipality, world.names[i], float(people)]
        if rng.random() < 0.005:  # a court-ordered population: a footnote mark
            notes.append(f"({len(notes) + 1}) População judicial do município de {world.names[i]}")
            mark = f"({len(notes)})"
            if rng.random() < 0.5:  # as in 2025: the mark in a column of its own
                cells.append(mark)
            else:  # as in earlier years: a text population, sometimes with thousands dots
                dotted = f"{people:,}".replace(",", ".") if rng.random() < 0.5 else str(people)
                cells[4] = f"{dotted}{mark}"
        rows.append(cells)
    rows += [[], ["Fonte: IBGE. Diretoria de Pesquisas - DPE - COPIS."], [], ["Notas:"]]
    rows += [[note] for note in notes]
    brasil: list[list[object]] = [
        ["ESTIMATIVAS DA POPULAÇÃO RESIDENTE NO BRASIL E UNIDADES DA FEDERAÇÃO"]
    ]
    brasil += [["BRASIL E UNIDADES DA FEDERAÇÃO", "POPULAÇÃO ESTIMADA"], ["Brasil", total]]
    write_xlsx(
        folder / POPULATION,
        {"BRASIL E UFs": brasil + states, "Municípios": rows},
        world.zip_date_time,
    )
    return len(world.ibge)
