"""Which active channel establishments became the partner's customers (the acquisition).

A distributor does not win customers at random: its trucks cover some states and cities
better than others, some channels fit its catalogue better, established businesses with a
proper company behind them convert more than a brand-new micro-entrepreneur, and a
neighbourhood dense with outlets sits on a route. Each candidate's true conversion
propensity is

    p = sigmoid(intercept + coverage[state] + coverage[city] + city_size + channel_fit
                + size + age + neighbourhood_density + latent)

with the terms below (documented in docs/sample-data.md, written to MANIFEST.json by
``acquisition_parameters()``), and the customers are Bernoulli(p) draws. The intercept
is solved per chunk so the expected share of customers is the release's customer rate.
The true propensities are written to ``ground_truth/propensity.parquet`` (never ingested)
so a check can rank by them: the oracle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flows.sample import vocab
from flows.sample.world import World

GROUND_TRUTH_DIR = "ground_truth"
PROPENSITY_FILE = "propensity.parquet"
PROPENSITY_SCHEMA = pa.schema(
    [
        ("cnpj", pa.string()),
        ("channel", pa.string()),
        ("propensity", pa.float64()),
        ("customer", pa.bool_()),
    ]
)

STATE_COVERAGE_SD = 0.5  # how unevenly the partner's routes cover the states (exactly)
CITY_COVERAGE_SD = 0.45  # city-level route coverage within a state
CITY_SIZE_SLOPE = 0.25  # per log unit of population above REFERENCE_POPULATION
REFERENCE_POPULATION = 50_000
CHANNEL_FIT = {  # the partner's catalogue suits supermarkets, bars and small food retail
    "5611201": 0.4,  # restaurants
    "5611203": 0.0,  # snack bars
    "5611204": 0.6,  # bars
    "5611205": 0.6,  # bars with entertainment
    "5620102": -0.3,  # buffets
    "4711301": -0.4,  # hypermarkets (buy much from the industry directly)
    "4711302": 0.7,  # supermarkets
    "4712100": 0.6,  # mini-markets
    "4691500": -0.2,  # wholesale (competitors as much as customers)
    "4637107": 0.0,  # chocolate wholesale
}
PORTE_FIT = (0.0, 0.0, 0.5, 0.3)  # porte 00, 01 (micro), 03 (small), 05 (other)
MEI_FIT = -0.9  # an individual micro-entrepreneur rarely opens a distributor account
AGE_FIT = 1.4  # x (1 - exp(-age_years / AGE_SCALE_YEARS)): newcomers are not customers yet
AGE_SCALE_YEARS = 2.5
DENSITY_SLOPE = 0.35  # per log unit of expected outlets in the neighbourhood
LATENT_SD = 0.35  # what no public field says (the owner, the salesperson)


def coverage(world: World, seed: int) -> np.ndarray:
    """Route coverage per municipality (log-odds): its state's plus its own."""
    rng = np.random.default_rng([seed, 7])
    state = rng.normal(0.0, 1.0, size=len(world.ufs))
    state = (state - state.mean()) / state.std() * STATE_COVERAGE_SD  # the same spread per seed
    city = rng.normal(0.0, CITY_COVERAGE_SD, size=len(world.population))
    size = CITY_SIZE_SLOPE * np.log(world.population / REFERENCE_POPULATION)
    return state[world.uf_of_muni] + city + size


def _channel_fit() -> np.ndarray:
    return np.array([CHANNEL_FIT[code] for code, *_ in vocab.CHANNELS])


def log_odds(
    *,
    route: np.ndarray,
    channel: np.ndarray,
    porte: np.ndarray,
    is_mei: np.ndarray,
    age_years: np.ndarray,
    neighbourhood_outlets: np.ndarray,
    latent: np.ndarray,
) -> np.ndarray:
    """The propensity's log-odds before the intercept (arrays per candidate)."""
    density = DENSITY_SLOPE * np.log(np.maximum(neighbourhood_outlets, 1e-9))
    return (
        route
        + _channel_fit()[channel]
        + np.asarray(PORTE_FIT)[porte]
        + np.where(is_mei, MEI_FIT, 0.0)
        + AGE_FIT * (1 - np.exp(-np.maximum(age_years, 0) / AGE_SCALE_YEARS))
        + density
        + LATENT_SD * latent
    )


def calibrated(score: np.ndarray, rate: float) -> np.ndarray:
    """sigmoid(score + intercept), the intercept solved so the mean is ``rate``."""
    if len(score) == 0:
        return np.zeros(0)
    if rate >= 1.0:
        return np.ones(len(score))
    low, high = -30.0, 30.0
    for _ in range(60):  # bisection: the mean of a sigmoid grows with the intercept
        middle = (low + high) / 2
        if np.mean(_sigmoid(score + middle)) < rate:
            low = middle
        else:
            high = middle
    return _sigmoid(score + (low + high) / 2)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def oracle(propensity: np.ndarray, customer: np.ndarray) -> dict[str, float]:
    """Top-decile lift and AUC of ranking the candidates by their true propensity."""
    return ranking_quality(propensity, customer)


def ranking_quality(score: np.ndarray, positive: np.ndarray, share: float = 0.1) -> dict:
    """Lift of the top ``share`` (positives' rate there / overall) and the AUC (ties half)."""
    from scipy.stats import rankdata

    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    n, k = len(score), int(positive.sum())
    if n == 0 or k == 0 or k == n:
        return {"top_decile_lift": float("nan"), "auc": float("nan"), "candidates": n}
    top = max(1, round(n * share))
    order = np.lexsort((np.arange(n), -score))
    lift = positive[order[:top]].mean() / positive.mean()
    ranks = rankdata(score)
    auc = (ranks[positive].sum() - k * (k + 1) / 2) / (k * (n - k))
    return {"top_decile_lift": float(lift), "auc": float(auc), "candidates": n}


def acquisition_parameters() -> dict:
    """The acquisition process's parameters, for MANIFEST.json."""
    return {
        "formula": "p = sigmoid(intercept + coverage_state[uf] + coverage_city[municipality] + "
        f"{CITY_SIZE_SLOPE} * ln(population / {REFERENCE_POPULATION}) + channel_fit[channel] + "
        f"porte_fit[porte] + (MEI: {MEI_FIT}) + {AGE_FIT} * (1 - exp(-age_years / "
        f"{AGE_SCALE_YEARS})) + {DENSITY_SLOPE} * ln(expected outlets in the neighbourhood) + "
        f"{LATENT_SD} * N(0, 1)); customer ~ Bernoulli(p); intercept solved per chunk of "
        "100,000 establishments so mean(p) is the customer rate",
        "coverage_state_sd": STATE_COVERAGE_SD,
        "coverage_city_sd": CITY_COVERAGE_SD,
        "channel_fit": CHANNEL_FIT,
        "porte_fit": dict(zip(("00", "01", "03", "05"), PORTE_FIT, strict=True)),
        "mei_fit": MEI_FIT,
        "latent_sd": LATENT_SD,
        "ground_truth": f"{GROUND_TRUTH_DIR}/{PROPENSITY_FILE}",
    }
