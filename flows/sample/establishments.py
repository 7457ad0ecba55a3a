"""Estabelecimentos rows (30 columns) and the features of the partner's customers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flows.municipalities import TOM_EXTERIOR
from flows.sample import acquisition, text, vocab
from flows.sample.cnpj import ALL_CNAES, CHANNEL_COUNT, Companies, TableChunk
from flows.sample.receita import choose_bad_rows, plant_bad_dates, plant_field_count
from flows.sample.world import World

EXTERIOR_RATE = 0.0003
_SITUACAO = tuple(s for s, _, _ in vocab.SITUACOES)
_MOTIVO = tuple(m for _, m, _ in vocab.SITUACOES)
_SITUACAO_P = np.array([p for *_, p in vocab.SITUACOES])
_FANTASY = (
    "BOM PREÇO",
    "SÃO JORGE",
    "DO ZÉ",
    "DA PRAÇA",
    "ESTRELA",
    "CENTRAL",
    "AVENIDA",
    "SABOR DE MINAS",
    "PÃO DE AÇÚCAR",
    "DA ESQUINA",
    "BOA ESPERANÇA",
    "CORAÇÃO",
    "ITAÚNA",
    "MAUÁ",
    "PARAÍSO",
    "DOIS IRMÃOS",
    "DO POVO",
    "ECONÔMICO",
    "FAMÍLIA",
)
_FANTASY_PREFIX = tuple(word for *_, word in vocab.CHANNELS) + vocab.OTHER_ACTIVITY
_UF_DDDS = {uf: ddds for uf, (_, ddds, _, _) in vocab.STATES.items()}
_UF_CEP = {uf: cep for uf, (_, _, cep, _) in vocab.STATES.items()}
_FOREIGN = tuple(vocab.FOREIGN_CITIES.items())
_ASCII = str.maketrans("ÁÀÂÃÉÊÍÓÔÕÚÇ", "AAAAEEIOOOUC")


def _email_part(words: tuple[str, ...]) -> tuple[str, ...]:
    """``DA CONCEIÇÃO`` -> ``conceicao``: how people write their names in e-mails."""
    return tuple(w.translate(_ASCII).split()[-1].lower() for w in words)


_FIRST_ASCII = _email_part(vocab.FIRST_NAMES)
_SURNAME_ASCII = _email_part(vocab.SURNAMES)
_BAIRRO_P = 1 / np.arange(1, len(vocab.NEIGHBOURHOODS) + 1) ** 0.9  # a few dominate


def establishments_chunk(
    rng: np.random.Generator,
    world: World,
    companies: Companies,
    customer_rate: float,
    route: np.ndarray,
) -> tuple[TableChunk, dict[str, np.ndarray | pa.Array], pa.Table]:
    """The chunk's Estabelecimentos rows, the customers the acquisition process won among
    them (``route``: coverage per municipality, flows.sample.acquisition) and the
    candidates' true propensities (the ground truth)."""
    m = len(companies.start)
    owner = np.repeat(np.arange(m), companies.branches)
    n = len(owner)
    first_of_company = np.cumsum(companies.branches) - companies.branches
    ordem = np.arange(n) - np.repeat(first_of_company, companies.branches) + 1
    body = np.column_stack([companies.basico[owner], text.digit_matrix(ordem, 4)])
    check = text.cnpj_check_digits(body)
    cnae = companies.cnae[owner]
    is_mei = companies.is_mei[owner]

    company_start = companies.start[owner]
    start = np.where(
        ordem == 1,
        company_start,
        company_start + (rng.random(n) * (world.release_days - company_start)).astype(np.int64),
    )
    situacao = rng.choice(len(_SITUACAO), size=n, p=_SITUACAO_P / _SITUACAO_P.sum())
    changed = start + (rng.random(n) * (world.release_days - start)).astype(np.int64)
    situacao_date = np.where(situacao == 0, start, changed)

    muni = rng.choice(len(world.population), size=n, p=world.muni_weights)
    exterior = rng.random(n) < EXTERIOR_RATE
    if n >= 1_000:
        exterior[n // 2] = True  # every release has at least one establishment abroad
    foreign = rng.integers(0, len(_FOREIGN), size=n)

    uf_id = world.uf_of_muni[muni]
    ddd = _ddd(world, uf_id, rng.random(n))
    cep_prefix = np.array([_UF_CEP[uf] for uf in world.ufs], dtype=np.int64)[uf_id]
    cep = cep_prefix * 1_000_000 + rng.integers(0, 1_000_000, size=n)

    def phone(present: np.ndarray) -> tuple[pa.Array, pa.Array]:
        mobile = rng.random(n) < 0.5
        number = np.where(
            mobile,
            900_000_000 + rng.integers(10**7, 10**8, size=n),
            rng.integers(2 * 10**7, 6 * 10**7, size=n),
        )
        return (
            text.where(present & ~exterior, text.plain(ddd), ""),
            text.where(present & ~exterior, text.plain(number), ""),
        )

    has_phone = rng.random(n) < 0.85
    ddd_1, tel_1 = phone(has_phone)
    ddd_2, tel_2 = phone(rng.random(n) < 0.25)
    ddd_fax, fax = phone(rng.random(n) < 0.04)

    personal_email = is_mei & (rng.random(n) < 0.7)
    first = companies.first[owner]
    surname = companies.surname[owner, 0]
    email_personal = text.join(
        text.choose(_FIRST_ASCII, first),
        ".",
        text.choose(_SURNAME_ASCII, surname),
        text.plain(rng.integers(1960, 2006, size=n)),
        "@",
        text.pick(rng, vocab.EMAIL_DOMAINS, n),
    )
    email_firm = text.join("contato@", text.choose(_SURNAME_ASCII, surname), ".com.br")
    email = text.where(
        personal_email, email_personal, text.where(~is_mei & (rng.random(n) < 0.3), email_firm, "")
    )

    bairro = rng.choice(len(vocab.NEIGHBOURHOODS), size=n, p=_BAIRRO_P / _BAIRRO_P.sum())
    fantasy = text.join(text.choose(_FANTASY_PREFIX, cnae), text.pick(rng, _FANTASY, n), sep=" ")
    secondary = text.join(
        text.pick(rng, ALL_CNAES[CHANNEL_COUNT:], n), text.pick(rng, ALL_CNAES, n), sep=","
    )
    secondary_kind = rng.random(n)
    numero = text.where(rng.random(n) < 0.05, "S/N", text.plain(rng.integers(1, 3000, size=n)))
    especial = rng.random(n) < 0.001
    columns = [
        text.strings(companies.basico[owner]),
        text.digits(ordem, 4),
        text.strings(check),
        text.where(ordem == 1, "1", "2"),
        text.where(rng.random(n) < np.where(is_mei, 0.4, 0.25), "", fantasy),
        text.choose(_SITUACAO, situacao),
        text.yyyymmdd(situacao_date),
        text.choose(_MOTIVO, situacao),
        text.where(exterior, text.choose(tuple(c for _, c in _FOREIGN), foreign), ""),
        text.where(exterior, text.choose(tuple(p for p, _ in _FOREIGN), foreign), ""),
        text.yyyymmdd(start),
        text.choose(ALL_CNAES, cnae),
        text.where(
            secondary_kind < 0.2,
            secondary,
            text.where(secondary_kind < 0.35, text.pick(rng, ALL_CNAES[CHANNEL_COUNT:], n), ""),
        ),
        text.pick(rng, vocab.STREET_TYPES, n, p=vocab.STREET_TYPE_WEIGHTS),
        text.pick(rng, vocab.STREETS, n),
        numero,
        text.pick(rng, vocab.COMPLEMENTS, n),
        text.choose(vocab.NEIGHBOURHOODS, bairro),
        text.where(exterior, "", text.digits(cep, 8)),
        text.where(exterior, "EX", text.choose(world.ufs, uf_id)),
        text.where(exterior, TOM_EXTERIOR, world.tom.take(pa.array(muni))),
        ddd_1,
        tel_1,
        ddd_2,
        tel_2,
        ddd_fax,
        fax,
        email,
        text.where(especial, "RECUPERAÇÃO JUDICIAL", ""),
        text.where(especial, text.yyyymmdd(changed), "0"),
    ]
    planted = choose_bad_rows(rng, n, has_dates=True)
    plant_bad_dates(rng, columns, planted, date_columns=[6, 10])
    lines = plant_field_count(text.receita_lines(columns), planted)

    stats = companies.stats
    stats["closed_establishments"] += int((situacao == 1).sum())
    stats["establishments_abroad"] += int(exterior.sum())
    stats["unmapped_municipality"] += int((exterior | ~world.mapped[muni]).sum())
    stats["personal_emails"] += int(personal_email.sum())
    stats["mei_phones"] += int((is_mei & ~exterior & has_phone).sum())
    companies.examples["personal_emails"] = email.filter(pa.array(personal_email))[:5].to_pylist()

    good = np.ones(n, dtype=bool)
    good[planted.rows] = False
    candidate = good & (situacao == 0) & (cnae < CHANNEL_COUNT) & ~exterior
    pool = np.flatnonzero(candidate)
    owners = owner[pool]
    propensity = acquisition.calibrated(
        acquisition.log_odds(
            route=route[muni[pool]],
            channel=cnae[pool],
            porte=companies.porte[owners],
            is_mei=is_mei[pool],
            age_years=(world.release_days - start[pool]) / 365.25,
            neighbourhood_outlets=world.muni_weights[muni[pool]] * _BAIRRO_P[bairro[pool]] * 1e6,
            latent=rng.normal(size=len(pool)),
        ),
        customer_rate,
    )
    won = rng.random(len(pool)) < propensity
    chosen = pool[won]
    all_cnpj = text.strings(np.column_stack([body, check]))
    cnpj = all_cnpj.take(pa.array(chosen))
    customers = {
        "cnpj": cnpj,
        "channel": cnae[chosen],
        "municipality": muni[chosen],
        "start": start[chosen],
        "porte": companies.porte[owner][chosen],
        "capital_cents": companies.capital_cents[owner][chosen],
        "noise": rng.normal(0.0, 1.0, size=len(chosen)),
    }
    truth = pa.table(
        {
            "cnpj": all_cnpj.take(pa.array(pool)),
            "channel": text.choose(tuple(code for code, *_ in vocab.CHANNELS), cnae[pool]),
            "propensity": propensity,
            "customer": won,
        },
        schema=acquisition.PROPENSITY_SCHEMA,
    )
    return TableChunk(lines, planted), customers, truth


def _ddd(world: World, uf_id: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One of the state's area codes per row."""
    result = np.zeros(len(uf_id), dtype=np.int64)
    for i, uf in enumerate(world.ufs):
        rows = uf_id == i
        ddds = np.asarray(_UF_DDDS[uf])
        result[rows] = ddds[(u[rows] * len(ddds)).astype(int)]
    return result
