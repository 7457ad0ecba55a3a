"""The sample release's partner JSON and public CSVs: contracts, coherence, planted signal."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from cidade_ibge_tom.cidade import cidade as package_crosswalk

from flows.sample import generate_release

ESTABLISHMENTS = 4_000
UF_SIGLA = {
    "11": "RO",
    "12": "AC",
    "13": "AM",
    "14": "RR",
    "15": "PA",
    "16": "AP",
    "17": "TO",
    "21": "MA",
    "22": "PI",
    "23": "CE",
    "24": "RN",
    "25": "PB",
    "26": "PE",
    "27": "AL",
    "28": "SE",
    "29": "BA",
    "31": "MG",
    "32": "ES",
    "33": "RJ",
    "35": "SP",
    "41": "PR",
    "42": "SC",
    "43": "RS",
    "50": "MS",
    "51": "MT",
    "52": "GO",
    "53": "DF",
}
IPM_COLUMNS = [
    "Código UF",
    "UF",
    "Período",
    "Moradia",
    "Acesso aos serviços de utilidade pública",
    "Saúde e alimentação",
    "Educação",
    "Acesso a serviços financeiros e padrão de vida",
    "Transporte e lazer",
    "IPM-NM",
]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("partner_release")
    generate_release(out, establishments=ESTABLISHMENTS, seed=23, progress=False)
    return out


@pytest.fixture(scope="module")
def partner(release) -> dict[str, list[dict]]:
    return {
        name: json.loads((release / "partner" / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("categories", "establishments", "sales")
    }


@pytest.fixture(scope="module")
def registry(release) -> dict[str, list[str]]:
    """CNPJ -> Estabelecimentos fields, good rows only (independent csv reader)."""
    rows = {}
    for path in (release / "cnpj").glob("Estabelecimentos*.zip"):
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.namelist()[0]).decode("latin-1")
        for fields in csv.reader(io.StringIO(text), delimiter=";"):
            if len(fields) == 30:
                rows[fields[0] + fields[1] + fields[2]] = fields
    return rows


@pytest.fixture(scope="module")
def pof_income(release) -> dict[str, float]:
    """Weighted mean household income per state sigla, from the POF file."""
    totals = defaultdict(lambda: [0.0, 0.0])
    seen = set()
    with (release / "public" / "pof_despesa_alimentar.csv").open(encoding="latin-1") as file:
        for row in csv.DictReader(file, delimiter=";"):
            household = (row["COD_UPA"], row["NUM_DOM"])
            if household in seen:
                continue
            seen.add(household)
            weight = float(row["PESO_FINAL"].replace(",", "."))
            totals[UF_SIGLA[row["UF"]]][0] += weight * float(row["RENDA_TOTAL"].replace(",", "."))
            totals[UF_SIGLA[row["UF"]]][1] += weight
    return {uf: total / weight for uf, (total, weight) in totals.items()}


def _spearman(x, y) -> float:
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    return float(np.corrcoef(rank(np.asarray(x)), rank(np.asarray(y)))[0, 1])


def test_categories_contract(partner):
    categories = partner["categories"]
    assert 25 <= len(categories) <= 35
    assert all(set(c) == {"id", "name", "isActive"} for c in categories)
    assert [c["id"] for c in categories] == list(range(1, len(categories) + 1))
    names = {c["name"] for c in categories}
    assert {"Chocolate", "Vinho", "Arroz", "Feijão", "Cerveja", "Carne", "Café"} <= names
    assert 1 <= sum(not c["isActive"] for c in categories) <= 3


def test_partner_establishments_exist_in_the_registry(partner, registry):
    listing = partner["establishments"]
    assert listing and all(set(e) == {"id", "cnpj"} for e in listing)
    assert sorted(e["id"] for e in listing) == list(range(1, len(listing) + 1))
    cnpjs = [e["cnpj"] for e in listing]
    assert len(set(cnpjs)) == len(cnpjs)
    for cnpj in cnpjs:
        assert len(cnpj) == 14 and cnpj in registry
        fields = registry[cnpj]
        assert fields[5] == "02" and fields[11][:2] in {"56", "47", "46"}


def test_sales_contract(partner):
    categories = {c["id"]: c for c in partner["categories"]}
    customers = {e["cnpj"] for e in partner["establishments"]}
    sales = partner["sales"]
    assert 0 < len(sales) <= 0.5 * ESTABLISHMENTS
    keys = {"id", "cnpj", "idCategory", "category", "saleDate", "value", "amount"}
    assert [s["id"] for s in sales] == list(range(1, len(sales) + 1))
    for sale in sales:
        assert set(sale) == keys
        assert sale["cnpj"] in customers
        assert sale["category"] == categories[sale["idCategory"]]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", sale["saleDate"])
        assert "2025-11-01" <= sale["saleDate"][:10] <= "2026-10-31"
        assert isinstance(sale["amount"], int) and sale["amount"] >= 1
        assert isinstance(sale["value"], float | int) and sale["value"] > 0
    dates = [s["saleDate"] for s in sales]
    assert dates == sorted(dates)
    assert {d[:7] for d in dates} == {f"2025-{m}" for m in ("11", "12")} | {
        f"2026-{m:02d}" for m in range(1, 11)
    }


def test_planted_signal_channel_and_income(partner, registry, pof_income):
    totals = defaultdict(float)
    for sale in partner["sales"]:
        totals[sale["cnpj"]] += sale["value"]
    by_channel = defaultdict(list)
    by_state = defaultdict(list)
    for cnpj, value in totals.items():
        by_channel[registry[cnpj][11]].append(math.log(value))
        by_state[registry[cnpj][19]].append(math.log(value))
    # Documented direction: supermarkets, hypermarkets and wholesalers buy far more than
    # snack bars.
    big = [v for c in ("4711301", "4711302", "4691500", "4637107") for v in by_channel[c]]
    assert big and np.mean(big) > np.mean(by_channel["5611203"]) + 0.7
    states = sorted(s for s in by_state if len(by_state[s]) >= 3)
    correlation = _spearman([pof_income[s] for s in states], [np.mean(by_state[s]) for s in states])
    assert correlation > 0.3


def test_public_pof_matches_partner_categories(release, partner):
    raw = (release / "public" / "pof_despesa_alimentar.csv").read_bytes()
    text = raw.decode("latin-1")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [
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
    assert {r[0] for r in rows[1:]} == set(UF_SIGLA)
    assert all(re.fullmatch(r"\d{9}", r[2]) for r in rows[1:])
    assert all(re.fullmatch(r"\d+,\d+", r[6]) for r in rows[1:])
    assert {r[5] for r in rows[1:]} <= {c["name"] for c in partner["categories"]}
    assert "Feijão".encode("latin-1") in raw


def test_public_ipm_nm_is_consistent_with_income(release, pof_income):
    text = (release / "public" / "ipm_nm_uf.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == IPM_COLUMNS and len(rows) == 55
    assert {(r[2]) for r in rows[1:]} == {"2008-2009", "2017-2018"}
    values = [float(v.replace(",", ".")) for r in rows[1:] for v in r[3:]]
    assert all(0 <= v <= 1 for v in values)
    recent = {r[1]: float(r[9].replace(",", ".")) for r in rows[1:] if r[2] == "2017-2018"}
    assert all(UF_SIGLA[r[0]] == r[1] for r in rows[1:])
    states = sorted(recent)
    assert _spearman([pof_income[s] for s in states], [recent[s] for s in states]) < -0.5


def test_public_population_covers_the_crosswalk(release):
    with (release / "public" / "populacao_municipios.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["COD_MUNIC", "NOME_MUNIC", "UF", "POPULACAO"]
    assert {r["COD_MUNIC"] for r in rows} == {ibge for ibge, _ in package_crosswalk}
    assert all(int(r["POPULACAO"]) > 0 and UF_SIGLA[r["COD_MUNIC"][:2]] == r["UF"] for r in rows)
    assert any("ã" in r["NOME_MUNIC"] for r in rows)


def test_manifest_documents_signal_and_personal_data(release, partner):
    manifest = json.loads((release / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 23 and manifest["establishments"] == ESTABLISHMENTS
    signal = manifest["demand_signal"]
    assert signal["channel_demand"]["4691500"] > signal["channel_demand"]["5611203"]
    assert signal["income_elasticity"] > 0
    personal = manifest["planted_personal_data"]
    assert personal["mei_names_with_cpf"] > 0 and personal["person_partners_masked_cpf"] > 0
    assert manifest["partner"]["sales"] == len(partner["sales"])
