"""A small, hand-sized warehouse read with a known multiplicative demand signal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from flows.analysis.data import WarehouseData, Window

CHANNELS = {"5611201": ("restaurant", 1.0), "4711302": ("supermarket", 5.0)}
CITIES = [("3550308", "SP", "São Paulo", 12_000_000), ("2927408", "BA", "Salvador", 2_500_000)]
CATEGORIES = {"Cerveja": 200.0, "Vinho": 400.0}


def warehouse_data(establishments: int = 120, customer_share: float = 0.5, seed: int = 3):
    """Establishments in two cities and channels; customers buy with value
    = base[category] × channel × (capital / 50k)^0.5 × noise, every month they buy."""
    rng = np.random.default_rng(seed)
    cnae = rng.choice(list(CHANNELS), size=establishments)
    city = rng.integers(0, len(CITIES), size=establishments)
    capital = np.exp(rng.normal(np.log(50_000), 1.0, size=establishments)).round(2)
    mei = rng.random(establishments) < 0.3
    # Registered names as the scrub leaves them (a pseudonym for a MEI); every fourth
    # establishment has no trade name (the Receita leaves it empty).
    frame = pd.DataFrame(
        {
            "cnpj_hash": [f"h{i:04d}" for i in range(establishments)],
            "cnpj": [f"{i:08d}000190" for i in range(establishments)],
            "nome_fantasia": [None if i % 4 == 0 else f"LOJA {i}" for i in range(establishments)],
            "razao_social": [
                f"EMPRESARIO INDIVIDUAL {i:08x}" if mei[i] else f"COMERCIO {i} LTDA"
                for i in range(establishments)
            ],
            "cnae": cnae,
            "channel": [CHANNELS[c][0] for c in cnae],
            "uf": [CITIES[c][1] for c in city],
            "ibge_code": [CITIES[c][0] for c in city],
            "city": [CITIES[c][2] for c in city],
            "neighbourhood": rng.choice(
                ["CENTRO", "BELA VISTA", "LAPA", "MOOCA"], size=establishments
            ),
            "matriz_filial": rng.choice(["1", "2"], size=establishments, p=[0.8, 0.2]),
            "started_on": pd.to_datetime("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 3_000, size=establishments), unit="D"),
            "natureza_juridica": np.where(mei, "2135", "2062"),
            "capital_social": capital,
            "porte": np.where(mei, "01", "03"),
            "opcao_simples": np.where(mei, "S", "N"),
            "opcao_mei": np.where(mei, "S", "N"),
        }
    )
    customers = set(frame["cnpj_hash"][rng.random(establishments) < customer_share])
    window = Window("2026-01", "2026-06")
    sales = []
    for row in frame[frame["cnpj_hash"].isin(customers)].itertuples():
        size = CHANNELS[row.cnae][1] * (row.capital_social / 50_000) ** 0.5
        for month in window.months:
            for category, base in CATEGORIES.items():
                if rng.random() < 0.7:
                    value = base * size * np.exp(rng.normal(0, 0.2))
                    sales.append((row.cnpj_hash, category, month, round(value, 2), 1))
    monthly = pd.DataFrame(
        sales, columns=["cnpj_hash", "category", "month", "sales_value", "sale_rows"]
    )
    regions = pd.DataFrame(
        {
            "ibge_code": [c[0] for c in CITIES],
            "uf": [c[1] for c in CITIES],
            "population": [c[3] for c in CITIES],
            "ipm_nm": [0.15, 0.3],
            "monthly_food_spending_per_family": [1_000.0, 750.0],
            "active_establishments": [60, 60],
        }
    )
    pof = pd.DataFrame(  # core.pof_food_spending: per UF × category (IBGE's method)
        {
            "uf_code": ["35", "35", "29", "29"],
            "uf": ["SP", "SP", "BA", "BA"],
            "category": ["Cerveja", "Vinho", "Cerveja", "Vinho"],
            "monthly_spending_per_family_brl": [175.0, 12.5, 100.0, 10.0],
            "families_weighted": [400.0, 400.0, 200.0, 200.0],
            "records": [2, 1, 1, 1],
        }
    )
    return WarehouseData(
        release="2026-07",
        window=window,
        establishments=frame,
        customers=customers,
        monthly_sales=monthly,
        regions=regions,
        pof=pof,
    )


AS_OF = dt.date(2026, 7, 1)
