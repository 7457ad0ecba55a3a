"""The sample release's partner JSON and public IBGE files: contracts, coherence, signal."""

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
def public_tables(release) -> dict:
    """The sample's public files read by Big D's own builders (no Prefect, no lake)."""
    from flows.sources.public import load_catalog
    from flows.sources.public.datasets import RawFile, methods

    catalog = load_catalog()
    files = {
        "pof_food_spending": "Dados_20230713.zip",
        "ipm_nm_uf": "Dados_20230713.zip",
        "population_municipalities": "POP2025_20260113.xlsx",
    }
    tables = {}
    for name, filename in files.items():
        path = release / "public" / filename
        entry = catalog.datasets[name]
        raw = RawFile(filename, lambda path=path: path.open("rb"))
        tables[name] = methods()[entry.method](entry, catalog, raw).to_pylist()
    return tables


@pytest.fixture(scope="module")
def ipm_by_state(public_tables) -> dict[str, float]:
    return {row["uf"]: row["ipm_nm"] for row in public_tables["ipm_nm_uf"] if row["uf"] != "BR"}


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


def test_planted_signal_channel_and_poverty(partner, registry, ipm_by_state):
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
    # Poorer states (higher IPM-NM, as Big D computes it from the sample's POF) buy less.
    states = sorted(s for s in by_state if len(by_state[s]) >= 3)
    correlation = _spearman(
        [ipm_by_state[s] for s in states], [np.mean(by_state[s]) for s in states]
    )
    assert correlation < -0.3


def test_public_microdata_is_fixed_width_in_the_published_layouts(release, partner):
    from flows.sources.public import load_catalog

    catalog = load_catalog()
    with zipfile.ZipFile(release / "public" / "Dados_20230713.zip") as archive:
        names = sorted(archive.namelist())
        assert names == [
            "CADERNETA_COLETIVA.txt",
            "DESPESA_INDIVIDUAL.txt",
            "MORADOR.txt",
            "MORADOR_QUALI_VIDA.txt",
        ]
        for name in names:
            lines = archive.read(name).split(b"\r\n")
            assert lines[-1] == b"", name  # every record ends in CRLF
            length = catalog.layouts[name.removesuffix(".txt")].length
            assert {len(line) for line in lines[:-1]} == {length}, name
            assert all(line.isascii() for line in lines[:-1]), name


def test_public_pof_covers_every_state_and_only_partner_categories(public_tables, partner):
    rows = public_tables["pof_food_spending"]
    assert {r["uf_code"] for r in rows} == set(UF_SIGLA)
    categories = {r["category"] for r in rows}
    assert categories <= {c["name"] for c in partner["categories"]}
    assert {"Cerveja", "Feijão", "Vinho"} <= categories
    assert all(r["monthly_spending_per_family_brl"] > 0 for r in rows)
    # Regional tastes survive IBGE's method: wine per family is higher in RS than in MA.
    wine = {r["uf"]: r["monthly_spending_per_family_brl"] for r in rows if r["category"] == "Vinho"}
    assert wine["RS"] > wine["MA"]


def test_public_ipm_nm_is_on_ibge_scale_and_falls_with_income(ipm_by_state, public_tables):
    from flows.sample.vocab import STATES

    brasil = next(r for r in public_tables["ipm_nm_uf"] if r["uf"] == "BR")
    assert 0.5 < brasil["ipm_nm"] < 10  # the real Brasil 2017-2018 figure is 2.3 (0-100)
    assert set(ipm_by_state) == set(UF_SIGLA.values())
    states = sorted(ipm_by_state)
    income = [STATES[s][3] for s in states]
    assert _spearman(income, [ipm_by_state[s] for s in states]) < -0.5


def test_public_population_covers_the_crosswalk(public_tables, release):
    rows = public_tables["population_municipalities"]
    assert {r["ibge_code"] for r in rows} == {ibge for ibge, _ in package_crosswalk}
    assert all(r["population"] > 0 and UF_SIGLA[r["ibge_code"][:2]] == r["uf"] for r in rows)
    assert any("ã" in r["name"] for r in rows)
    assert {r["reference_year"] for r in rows} == {2025}
    # The workbook carries IBGE's footnote marks; the reader strips them.
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(release / "public" / "POP2025_20260113.xlsx"))
    cells = [c for row in sheet.get_sheet_by_name("Municípios").to_python() for c in row]
    assert any(isinstance(c, str) and re.search(r"\(\d+\)$", c) for c in cells)
    assert not any("(" in r["name"] for r in rows)


def test_manifest_documents_signal_and_personal_data(release, partner):
    manifest = json.loads((release / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 23 and manifest["establishments"] == ESTABLISHMENTS
    signal = manifest["demand_signal"]
    assert signal["channel_demand"]["4691500"] > signal["channel_demand"]["5611203"]
    assert signal["poverty_slope"] > 0
    personal = manifest["planted_personal_data"]
    assert personal["mei_names_with_cpf"] > 0 and personal["person_partners_masked_cpf"] > 0
    assert manifest["partner"]["sales"] == len(partner["sales"])
