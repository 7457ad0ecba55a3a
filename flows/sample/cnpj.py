"""CNPJ registry rows, generated in vectorised chunks: companies and their tables.

A chunk holds ``n`` establishments of ``m`` companies (each company's establishments
are in the same chunk). Companies get Empresas, Socios and Simples rows; the
establishments are built in :mod:`flows.sample.establishments`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from flows.sample import text, vocab
from flows.sample.receita import Planted, choose_bad_rows, plant_bad_dates, plant_field_count
from flows.sample.world import ALPHANUMERIC_FROM, MEI_FROM, World

# Affine maps over the code space give unique, random-looking CNPJ bases for a seed.
_NUMERIC_MULTIPLIER = 73_939_133  # coprime with 10**8
_ALNUM_MULTIPLIER = 2_147_483_647  # coprime with 36**7
MEI_SHARE = 0.42
ALL_CNAES = tuple(code for code, *_ in vocab.CHANNELS) + tuple(c for c, _ in vocab.OTHER_CNAES)
CHANNEL_COUNT = len(vocab.CHANNELS)
_OTHER_WEIGHT = (1 - sum(vocab.CHANNEL_WEIGHTS)) / len(vocab.OTHER_CNAES)
CNAE_WEIGHTS = np.array(vocab.CHANNEL_WEIGHTS + (_OTHER_WEIGHT,) * len(vocab.OTHER_CNAES))
PORTES = ("00", "01", "03", "05")
_PORTE_MEDIAN_REAIS = np.array([20_000, 30_000, 300_000, 3_000_000])
_ACTIVITY = tuple(word for *_, word in vocab.CHANNELS) + vocab.OTHER_ACTIVITY


@dataclass
class TableChunk:
    lines: pa.Array
    planted: Planted


@dataclass
class Companies:
    """Per-company attributes a chunk's establishments need."""

    basico: np.ndarray  # (m, 8) uint8 ASCII
    start: np.ndarray  # days since epoch
    is_mei: np.ndarray
    cnae: np.ndarray  # index into ALL_CNAES
    porte: np.ndarray  # index into PORTES
    capital_cents: np.ndarray
    first: np.ndarray  # owner name parts (MEI owner, e-mail)
    surname: np.ndarray
    branches: np.ndarray  # establishments per company
    stats: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)


def draw_companies(world: World, rng: np.random.Generator, first_company: int, n: int, seed: int):
    """Draw the companies owning exactly ``n`` establishments."""
    is_mei = rng.random(n) < MEI_SHARE
    branches = np.where(is_mei, 1, rng.choice([1, 2, 3, 4], size=n, p=[0.8, 0.12, 0.06, 0.02]))
    cumulative = np.cumsum(branches)
    m = int(np.searchsorted(cumulative, n)) + 1
    branches, is_mei = branches[:m].copy(), is_mei[:m]
    branches[-1] -= int(cumulative[m - 1]) - n
    index = first_company + np.arange(m, dtype=np.int64)

    age_days = np.minimum(rng.exponential(9 * 365.25, size=m), 60 * 365.25).astype(np.int64)
    start = world.release_days - 1 - age_days
    mei_from = text.to_days(MEI_FROM.isoformat())
    late = rng.integers(0, world.release_days - mei_from, size=m)
    start = np.where(is_mei & (start < mei_from), mei_from + late, start)

    numeric = (_NUMERIC_MULTIPLIER * index + seed * 7_919) % 10**8
    basico = text.digit_matrix(numeric, 8)
    # New CNPJs from July 2026 may be alphanumeric: a letter first so they never
    # collide with the all-digit ones.
    alnum = (start >= text.to_days(ALPHANUMERIC_FROM.isoformat())) & (rng.random(m) < 0.6)
    if alnum.any():
        letters = rng.integers(65, 91, size=int(alnum.sum())).astype(np.uint8)
        rest = text.base36((_ALNUM_MULTIPLIER * index[alnum] + seed) % 36**7, 7)
        basico[alnum] = np.column_stack([letters, rest])

    porte = np.where(is_mei, 1, rng.choice([1, 2, 3], size=m, p=[0.55, 0.27, 0.18]))
    reais = np.exp(rng.normal(np.log(_PORTE_MEDIAN_REAIS[porte]), 0.8)).astype(np.int64)
    reais = np.where(is_mei, np.minimum(reais // 4, 80_000), reais)
    cents = reais * 100 + np.where(rng.random(m) < 0.1, rng.integers(1, 100, size=m), 0)
    companies = Companies(
        basico=basico,
        start=start,
        is_mei=is_mei,
        cnae=rng.choice(len(ALL_CNAES), size=m, p=CNAE_WEIGHTS / CNAE_WEIGHTS.sum()),
        porte=porte,
        capital_cents=cents,
        first=rng.integers(0, len(vocab.FIRST_NAMES), size=m),
        surname=rng.integers(0, len(vocab.SURNAMES), size=(m, 2)),
        branches=branches,
    )
    companies.stats["alphanumeric_cnpj_companies"] += int(alnum.sum())
    companies.stats["mei_companies"] += int(is_mei.sum())
    return companies


def person_names(first: np.ndarray, surname: np.ndarray) -> pa.Array:
    """``FIRST SURNAME1 SURNAME2`` in upper case with accents."""
    return text.join(
        text.choose(vocab.FIRST_NAMES, first),
        text.choose(vocab.SURNAMES, surname[:, 0]),
        text.choose(vocab.SURNAMES, surname[:, 1]),
        sep=" ",
    )


def formatted_basico(basico: np.ndarray) -> pa.Array:
    """``12.345.678``: how the Receita prefixes MEI names with the CNPJ base."""
    return text.join(
        text.strings(basico[:, :2]),
        text.strings(basico[:, 2:5]),
        text.strings(basico[:, 5:8]),
        sep=".",
    )


def empresas_chunk(rng: np.random.Generator, companies: Companies) -> TableChunk:
    """Empresas rows (7 columns); MEI names carry the owner's CPF or the CNPJ base."""
    m = len(companies.start)
    mei = companies.is_mei
    natureza_idx = rng.choice(len(vocab.NATUREZAS), size=m, p=[n[2] for n in vocab.NATUREZAS])
    natureza_codes = tuple(n[0] for n in vocab.NATUREZAS)
    owner = person_names(companies.first, companies.surname)
    cpf = text.strings(text.cpf_numbers(rng, m))
    style = rng.choice(3, size=m, p=[0.6, 0.25, 0.15])
    mei_name = text.where(
        style == 0,
        text.join(owner, cpf, sep=" "),
        text.where(
            style == 1, text.join(formatted_basico(companies.basico), owner, sep=" "), owner
        ),
    )
    firm_name = text.join(
        text.choose(vocab.SURNAMES, companies.surname[:, 0]),
        text.choose(_ACTIVITY, companies.cnae),
        text.choose(tuple(n[3] for n in vocab.NATUREZAS), natureza_idx),
        sep=" ",
    )
    natureza = text.where(mei, "2135", text.choose(natureza_codes, natureza_idx))
    qualificacao = text.where(
        mei, "50", text.choose(tuple(n[4] for n in vocab.NATUREZAS), natureza_idx)
    )
    nonprofit = ~mei & np.isin(natureza_idx, [5, 6])  # cooperatives and associations
    capital = text.money(np.where(nonprofit, 0, companies.capital_cents))
    columns = [
        text.strings(companies.basico),
        text.where(mei, mei_name, firm_name),
        natureza,
        qualificacao,
        capital,
        text.choose(PORTES, companies.porte),
        text.constant("", m),
    ]
    planted = choose_bad_rows(rng, m, has_dates=False)
    lines = plant_field_count(text.receita_lines(columns), planted)
    with_cpf = mei & (style == 0)
    companies.stats["mei_names_with_cpf"] += int(with_cpf.sum())
    companies.stats["mei_names_with_cnpj_prefix"] += int((mei & (style == 1)).sum())
    companies.examples["cpf_in_razao_social"] = cpf.filter(pa.array(with_cpf))[:5].to_pylist()
    return TableChunk(lines, planted)


def socios_chunk(rng: np.random.Generator, world: World, companies: Companies) -> TableChunk:
    """Socios rows (11 columns): people with masked CPFs, companies, foreigners."""
    m = len(companies.start)
    per_company = np.where(companies.is_mei, 0, rng.choice([1, 2, 3], size=m, p=[0.5, 0.38, 0.12]))
    owner = np.repeat(np.arange(m), per_company)
    s = len(owner)
    kind = rng.choice(3, size=s, p=[0.92, 0.06, 0.02])  # 0 person, 1 company, 2 foreigner
    person, company, foreign = kind == 0, kind == 1, kind == 2
    first = rng.integers(0, len(vocab.FIRST_NAMES), size=s)
    surname = rng.integers(0, len(vocab.SURNAMES), size=(s, 2))
    names = person_names(first, surname)
    holding = text.join(text.choose(vocab.SURNAMES, surname[:, 0]), "PARTICIPAÇÕES LTDA", sep=" ")
    cpf = text.cpf_numbers(rng, s)
    masked = text.join("***", text.strings(cpf[:, 3:9]), "**")
    partner_base = text.digit_matrix(rng.integers(0, 10**8, size=s), 8)
    body = np.column_stack([partner_base, text.digit_matrix(np.ones(s), 4)])
    partner_cnpj = text.strings(np.column_stack([body, text.cnpj_check_digits(body)]))
    start = companies.start[owner]
    entry = start + (rng.random(s) * (world.release_days - start)).astype(np.int64)
    pais_idx = rng.integers(1, len(vocab.PAISES), size=s)
    columns = [
        text.strings(companies.basico[owner]),
        text.where(person, "2", text.where(company, "1", "3")),
        text.where(company, holding, names),
        text.where(person, masked, text.where(company, partner_cnpj, "***999999**")),
        text.where(
            person, text.pick(rng, ("49", "22"), s, p=[0.6, 0.4]), text.where(company, "22", "38")
        ),
        text.yyyymmdd(entry),
        text.where(foreign, text.choose(tuple(c for c, _ in vocab.PAISES), pais_idx), ""),
        text.constant("***000000**", s),
        text.constant("", s),
        text.constant("00", s),
        text.where(company, "0", text.plain(rng.integers(2, 10, size=s))),
    ]
    planted = choose_bad_rows(rng, s, has_dates=True)
    plant_bad_dates(rng, columns, planted, date_columns=[5])
    companies.stats["person_partners_masked_cpf"] += int(person.sum())
    return TableChunk(plant_field_count(text.receita_lines(columns), planted), planted)


def simples_chunk(rng: np.random.Generator, world: World, companies: Companies) -> TableChunk:
    """Simples rows (7 columns) for MEIs and about half of the other companies."""
    keep = companies.is_mei | (rng.random(len(companies.start)) < 0.55)
    mei = companies.is_mei[keep]
    start = companies.start[keep]
    k = len(start)
    opted = mei | (rng.random(k) < 0.7)
    excluded = ~mei & (rng.random(k) < 0.3)
    excluded_on = start + (rng.random(k) * (world.release_days - start)).astype(np.int64)
    opcao_date = text.yyyymmdd(start)
    none = "00000000"
    columns = [
        text.strings(companies.basico[keep]),
        text.where(opted & ~excluded, "S", "N"),
        text.where(opted, opcao_date, none),
        text.where(opted & excluded, text.yyyymmdd(excluded_on), none),
        text.where(mei, "S", "N"),
        text.where(mei, opcao_date, none),
        text.where(mei, none, none),
    ]
    planted = choose_bad_rows(rng, k, has_dates=True)
    plant_bad_dates(rng, columns, planted, date_columns=[2, 5])
    return TableChunk(plant_field_count(text.receita_lines(columns), planted), planted)
