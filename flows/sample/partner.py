"""The partner's data (categories, customer establishments, sales) with a planted signal.

The formula is documented in docs/sample-data.md and written to MANIFEST.json
(``signal_parameters()``): a sale row's expected amount is the category's base amount
times the customer's demand factor times the category's seasonality, times interactions
(channel specialty, big-city on-trade, premium categories' extra poverty sensitivity).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.sample import text, vocab
from flows.sample.public import RegionalEconomy
from flows.sample.world import SALES_END, SALES_START, World

CHANNEL_DEMAND = {
    "5611201": 1.2,
    "5611203": 0.6,
    "5611204": 0.9,
    "5611205": 1.1,
    "5620102": 1.0,
    "4711301": 8.0,
    "4711302": 4.0,
    "4712100": 1.5,
    "4691500": 10.0,
    "4637107": 6.0,
}
PORTE_FACTOR = {"00": 1.0, "01": 1.0, "03": 1.8, "05": 3.0}
POVERTY_SLOPE = 0.12  # per IPM-NM point above the mean of the states
SPENDING_ELASTICITY = 0.5
POPULATION_ELASTICITY = 0.10
POPULATION_REFERENCE = 50_000
CAPITAL_ELASTICITY = 0.10
CAPITAL_REFERENCE = 100_000.0
AGE_SCALE_YEARS = 3.0
CUSTOMER_NOISE_SIGMA = 0.25
ROW_NOISE_SIGMA = 0.30
ROWS_PER_ESTABLISHMENT = 0.4  # expected sale rows = 0.4 x establishments (capped rate)
MAX_ORDERS_PER_MONTH = 3.0
MIN_CUSTOMERS = 250
CUSTOMER_SHARE = 0.10
SEASONALITY = {  # category -> {month: multiplier}; other months 1.0
    "Cerveja": {12: 1.4, 1: 1.4, 2: 1.5, 3: 1.2, 6: 0.8, 7: 0.8},
    "Chocolate": {3: 1.8, 4: 1.8, 12: 1.2},
    "Vinho": {6: 1.5, 7: 1.5, 12: 1.4},
    "Sorvete": {12: 1.6, 1: 1.6, 2: 1.5, 6: 0.6, 7: 0.6},
}
_STAPLES_BOOST = {"5611201": 3.0, "5620102": 3.0, "4691500": 2.0}
# Interactions that real demand has and a model additive in logs cannot express (so the
# trees and the ensemble have something to find beyond the linear model):
SPECIALTY_AMOUNT = {  # (channel, category) -> larger orders of what the channel is known for
    ("5611204", "Cerveja"): 2.0,
    ("5611205", "Cerveja"): 2.0,
    ("5611204", "Cachaça"): 1.6,
    ("5611201", "Vinho"): 1.8,
    ("5620102", "Vinho"): 1.5,
    ("4637107", "Chocolate"): 1.6,
}
ON_TRADE = ("5611201", "5611203", "5611204", "5611205", "5620102")  # bars, restaurants, buffets
BIG_CITY_POPULATION = 500_000
BIG_CITY_ON_TRADE = 1.5  # nightlife: on-trade channels sell more in big cities only
PREMIUM_CATEGORIES = ("Vinho", "Chocolate", "Cerveja")
PREMIUM_POVERTY_SLOPE = 0.15  # premium categories fall faster with poverty than staples


def categories() -> list[dict]:
    """The partner's category table (ids from 1, a couple inactive)."""
    return [
        {"id": i + 1, "name": name, "isActive": active}
        for i, (name, active, *_) in enumerate(vocab.CATEGORIES)
    ]


def affinity(channel: str) -> np.ndarray:
    """Probability that a sale row of ``channel`` is of each category (inactive = 0)."""
    weights = []
    for name, active, *_ in vocab.CATEGORIES:
        w = 1.0 if active else 0.0
        if channel in ("5611204", "5611205"):
            w *= {"Cerveja": 12.0, "Cachaça": 6.0}.get(name, 4.0 if name in vocab.BEVERAGES else 1)
        elif channel == "5611203":
            w *= 3.0 if name in {"Refrigerante", "Suco", "Pão de forma", "Biscoito"} else 1.0
        elif channel == "4637107":
            w *= 8.0 if name in vocab.SWEETS else 1.0
        elif name in vocab.STAPLES:
            w *= _STAPLES_BOOST.get(channel, 1.0)
        if channel == "5611201" and name == "Vinho":
            w *= 2.0
        weights.append(w)
    shares = np.array(weights)
    return shares / shares.sum()


def customer_rate(establishments: int) -> float:
    """Share of active channel establishments that are customers (>= MIN_CUSTOMERS)."""
    from flows.sample.cnpj import CHANNEL_COUNT, CNAE_WEIGHTS

    expected = establishments * CNAE_WEIGHTS[:CHANNEL_COUNT].sum() / CNAE_WEIGHTS.sum() * 0.65
    return float(min(1.0, max(CUSTOMER_SHARE, MIN_CUSTOMERS / max(expected, 1.0))))


def demand_factor(customers: dict, world: World, economy: RegionalEconomy) -> np.ndarray:
    """Each customer's demand multiplier, before the category's regional spending term."""
    channels = np.array([CHANNEL_DEMAND[code] for code, *_ in vocab.CHANNELS])
    uf = world.uf_of_muni[customers["municipality"]]
    poverty = np.exp(-POVERTY_SLOPE * (economy.ipm_nm[uf] - economy.national_ipm_nm))
    population = world.population[customers["municipality"]] / POPULATION_REFERENCE
    age_years = (world.release_days - customers["start"]) / 365.25
    age = 0.5 + 0.5 * (1 - np.exp(-age_years / AGE_SCALE_YEARS))
    porte = np.array([PORTE_FACTOR[p] for p in ("00", "01", "03", "05")])[customers["porte"]]
    capital = np.clip(
        (customers["capital_cents"] / 100 / CAPITAL_REFERENCE) ** CAPITAL_ELASTICITY, 0.5, 2.0
    )
    return (
        channels[customers["channel"]]
        * poverty
        * population**POPULATION_ELASTICITY
        * age
        * porte
        * capital
        * np.exp(CUSTOMER_NOISE_SIGMA * customers["noise"])
    )


def interaction_factor(customers: dict, world: World, economy: RegionalEconomy) -> np.ndarray:
    """Per customer and category: the specialty, big-city and premium-poverty terms."""
    names = [name for name, *_ in vocab.CATEGORIES]
    codes = [code for code, *_ in vocab.CHANNELS]
    channel = np.array(codes)[customers["channel"]]
    specialty = np.ones((len(codes), len(names)))
    for (code, name), factor in SPECIALTY_AMOUNT.items():
        specialty[codes.index(code), names.index(name)] = factor
    mix = specialty[customers["channel"]]
    big_city = world.population[customers["municipality"]] >= BIG_CITY_POPULATION
    mix *= np.where(big_city & np.isin(channel, ON_TRADE), BIG_CITY_ON_TRADE, 1.0)[:, None]
    uf = world.uf_of_muni[customers["municipality"]]
    premium = np.isin(names, PREMIUM_CATEGORIES)
    drop = np.exp(-PREMIUM_POVERTY_SLOPE * (economy.ipm_nm[uf] - economy.national_ipm_nm))
    mix[:, premium] *= drop[:, None]
    return mix


def _months() -> list[date]:
    months, current = [], SALES_START
    while current <= SALES_END:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def write_partner(
    folder: Path,
    world: World,
    economy: RegionalEconomy,
    customers: dict,
    establishments: int,
    seed: int,
) -> dict[str, int]:
    """Write categories.json, establishments.json and sales.json (sorted by saleDate)."""
    rng = np.random.default_rng([seed, 5])
    (folder / "categories.json").write_text(
        json.dumps(categories(), ensure_ascii=False, indent=None), encoding="utf-8"
    )
    count = len(customers["cnpj"])
    order = rng.permutation(count)
    cnpj = customers["cnpj"].take(pa.array(order))
    customers = {
        key: (value if key == "cnpj" else value[order]) for key, value in customers.items()
    }
    customers["cnpj"] = cnpj
    ids = text.plain(np.arange(1, count + 1))
    listing = text.join('{"id": ', ids, ', "cnpj": "', cnpj, '"}')
    with (folder / "establishments.json").open("wb") as file:
        file.write(b"[" + text.concat_bytes(text.join(listing, ", "), "utf-8")[:-2] + b"]")

    cats = vocab.CATEGORIES
    category_json = pa.array([json.dumps(c, ensure_ascii=False) for c in categories()])
    prices = np.array([price for _, _, price, _ in cats])
    units = np.array([u for *_, u in cats], dtype=float)
    spend_ratio = (economy.spending / economy.spending.mean(axis=0)) ** SPENDING_ELASTICITY
    spend_ratio = np.nan_to_num(spend_ratio, nan=1.0)  # categories without a POF equivalent
    channel_codes = [code for code, *_ in vocab.CHANNELS]
    affinities = np.stack([affinity(code) for code in channel_codes])
    demand = demand_factor(customers, world, economy)
    uf = world.uf_of_muni[customers["municipality"]]
    mix = interaction_factor(customers, world, economy)  # customer x category
    rate = min(MAX_ORDERS_PER_MONTH, ROWS_PER_ESTABLISHMENT * establishments / (12 * max(count, 1)))

    sales = 0
    with (folder / "sales.json").open("wb") as file:
        file.write(b"[")
        for month in _months():
            rows = rng.poisson(rate, size=count)
            who = np.repeat(np.arange(count), rows)
            k = len(who)
            # Inverse-CDF draw of each row's category from its channel's affinity.
            cdf = np.cumsum(affinities[customers["channel"][who]], axis=1)
            category = (cdf < rng.random(k)[:, None]).sum(axis=1).clip(0, len(cats) - 1)
            season = np.array([SEASONALITY.get(c[0], {}).get(month.month, 1.0) for c in cats])
            expected = (
                units[category]
                * demand[who]
                * spend_ratio[uf[who], category]
                * season[category]
                * mix[who, category]
                * np.exp(rng.normal(-(ROW_NOISE_SIGMA**2) / 2, ROW_NOISE_SIGMA, size=k))
            )
            amount = np.maximum(rng.poisson(expected), 1)
            cents = np.round(amount * prices[category] * rng.uniform(0.9, 1.1, size=k) * 100)
            days = (date(month.year + month.month // 12, month.month % 12 + 1, 1) - month).days
            start_ms = text.to_days(month.isoformat()) * 86_400_000
            stamp = (
                start_ms
                + rng.integers(0, days, size=k) * 86_400_000
                + rng.integers(6 * 3_600_000, 23 * 3_600_000, size=k)
            )
            by_time = np.argsort(stamp, kind="stable")
            who, category, amount, cents, stamp = (
                who[by_time],
                category[by_time],
                amount[by_time],
                cents[by_time],
                stamp[by_time],
            )
            when = pc.strftime(pa.array(stamp.astype("datetime64[ms]")), format="%Y-%m-%dT%H:%M:%S")
            cents = cents.astype(np.int64)
            rows_json = text.join(
                ',\n{"id": ',
                text.plain(np.arange(sales + 1, sales + k + 1)),
                ', "cnpj": "',
                customers["cnpj"].take(pa.array(who)),
                '", "idCategory": ',
                text.plain(category + 1),
                ', "category": ',
                category_json.take(pa.array(category)),
                ', "saleDate": "',
                when,
                '", "value": ',
                text.plain(cents // 100),
                ".",
                text.digits(cents % 100, 2),
                ', "amount": ',
                text.plain(amount),
                "}",
            )
            chunk = text.concat_bytes(rows_json, "utf-8")
            file.write(chunk[1:] if sales == 0 else chunk)  # no comma before the first row
            sales += k
        file.write(b"\n]" if sales else b"]")
    return {"categories": len(cats), "establishments": count, "sales": sales}


def signal_parameters() -> dict:
    """The planted formula's parameters, for MANIFEST.json."""
    return {
        "formula": "E[amount] = base_units[category] * D * spend_ratio[uf, category]^"
        f"{SPENDING_ELASTICITY} * season[category, month] * row_noise; spend_ratio = POF "
        "monthly_spending_per_family_brl[uf, category] / its mean over UFs (1 without a POF "
        "equivalent); D = channel * "
        f"exp(-{POVERTY_SLOPE} * (ipm_nm_uf - mean over UFs)) * (population / "
        f"{POPULATION_REFERENCE})^{POPULATION_ELASTICITY} * (0.5 + 0.5 * (1 - exp(-age_years / "
        f"{AGE_SCALE_YEARS}))) * porte * clip((capital_social / {CAPITAL_REFERENCE:.0f})^"
        f"{CAPITAL_ELASTICITY}, 0.5, 2) * exp({CUSTOMER_NOISE_SIGMA} * N(0, 1)); times the "
        "interactions mix[customer, category] = specialty[channel, category] * (on-trade in a "
        f"municipality of >= {BIG_CITY_POPULATION:,} people: {BIG_CITY_ON_TRADE}) * (premium "
        f"category: exp(-{PREMIUM_POVERTY_SLOPE} * (ipm_nm_uf - mean over UFs)))",
        "specialty_amount": {f"{code}/{name}": f for (code, name), f in SPECIALTY_AMOUNT.items()},
        "big_city": {
            "population": BIG_CITY_POPULATION,
            "on_trade_factor": BIG_CITY_ON_TRADE,
            "on_trade_channels": list(ON_TRADE),
        },
        "premium_categories": list(PREMIUM_CATEGORIES),
        "premium_poverty_slope": PREMIUM_POVERTY_SLOPE,
        "channel_demand": CHANNEL_DEMAND,
        "porte_factor": PORTE_FACTOR,
        "poverty_slope": POVERTY_SLOPE,
        "spending_elasticity": SPENDING_ELASTICITY,
        "population_elasticity": POPULATION_ELASTICITY,
        "capital_elasticity": CAPITAL_ELASTICITY,
        "age_scale_years": AGE_SCALE_YEARS,
        "customer_noise_sigma": CUSTOMER_NOISE_SIGMA,
        "row_noise_sigma": ROW_NOISE_SIGMA,
        "seasonality": SEASONALITY,
        "base_units": {name: units for name, _, _, units in vocab.CATEGORIES},
        "unit_price": {name: price for name, _, price, _ in vocab.CATEGORIES},
        "value": "amount * unit_price[category] * uniform(0.9, 1.1), rounded to cents",
        "rows": "Poisson(rate) sale rows per customer and month, the same rate for all",
    }
