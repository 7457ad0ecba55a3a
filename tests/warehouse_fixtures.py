"""A tiny hand-made trusted zone in exactly the contract layout, and its expected views.

The expected aggregates in ``EXPECTED`` were worked out by hand from the rows below
(see the comments); the tests compare the warehouse's views against them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

RELEASE = "2026-10"
PREVIOUS = "2026-09"
SP, RIO = "3550308", "3304557"

# cnpj_hash, cnae, situacao, uf, tom, ibge, bairro  (2026-10)
ESTABLISHMENTS = [
    ("h1", "5611201", "02", "SP", "7107", SP, "Centro"),  # restaurant, customer
    ("h2", "5611204", "02", "SP", "7107", SP, "Pinheiros"),  # bar
    ("h3", "5611201", "02", "SP", "7107", SP, "Centro"),  # restaurant
    ("h4", "4711302", "02", "RJ", "6001", RIO, "Copacabana"),  # supermarket, customer
    ("h5", "5611201", "08", "SP", "7107", SP, "Centro"),  # closed: not active
    ("h6", "6201501", "02", "SP", "7107", SP, "Centro"),  # software: no channel
    ("h7", "5611203", "02", "EX", "9707", None, None),  # snack bar abroad, unmapped
]
PREVIOUS_ESTABLISHMENTS = ESTABLISHMENTS[:2] + ESTABLISHMENTS[4:5]


def _write(root: Path, key: str, table: pa.Table) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _establishments(rows: list[tuple]) -> pa.Table:
    """As the CNPJ parser + scrub leave them: ``cep`` and contact columns dropped."""
    basicos = [f"{index + 1:08d}" for index in range(len(rows))]
    date = pa.array([dt.date(2020, 1, 2)] * len(rows), pa.date32())
    return pa.table(
        {
            "cnpj_basico": basicos,
            "cnpj_ordem": ["0001"] * len(rows),
            "cnpj_dv": ["00"] * len(rows),
            "identificador_matriz_filial": ["1"] * len(rows),
            "nome_fantasia": [f"Loja {row[0]}" for row in rows],
            "situacao_cadastral": [row[2] for row in rows],
            "data_situacao_cadastral": date,
            "motivo_situacao_cadastral": ["00"] * len(rows),
            "data_inicio_atividade": date,
            "cnae_fiscal_principal": [row[1] for row in rows],
            "cnae_fiscal_secundaria": ["4721102,5620104"] * len(rows),
            "bairro": [row[6] for row in rows],
            "uf": [row[3] for row in rows],
            "municipio": [row[4] for row in rows],
            "cnpj": [f"{b}000100" for b in basicos],
            "municipio_ibge": [row[5] for row in rows],
            "cnpj_hash": [row[0] for row in rows],
        }
    )


def write_cnpj_release(root: Path, release: str, establishments: list[tuple]) -> None:
    """``trusted/cnpj/<release>/<table>/part-*.parquet``; establishments split in two parts."""
    base = f"trusted/cnpj/{release}"
    table = _establishments(establishments)
    half = table.num_rows // 2
    _write(root, f"{base}/estabelecimentos/part-00000.parquet", table.slice(0, half))
    _write(root, f"{base}/estabelecimentos/part-00001.parquet", table.slice(half))
    companies = pa.table(
        {
            "cnpj_basico": ["00000001", "00000002"],
            "natureza_juridica": ["2062", "2135"],
            "qualificacao_responsavel": ["49", "50"],
            "capital_social": pa.array([Decimal("1000.00"), Decimal("0.50")], pa.decimal128(18, 2)),
            "porte": ["01", "05"],
            "ente_federativo_responsavel": [None, None],
            # As the scrub leaves them: the MEI's name is its pseudonym.
            "razao_social": ["BEBIDAS ACME LTDA", "EMPRESARIO INDIVIDUAL 0a1b2c3d"],
        }
    )
    _write(root, f"{base}/empresas/part-00000.parquet", companies)
    partners = pa.table(
        {
            "cnpj_basico": ["00000001"],
            "identificador_socio": ["2"],
            "qualificacao_socio": ["49"],
            "data_entrada_sociedade": pa.array([dt.date(2019, 5, 1)], pa.date32()),
            "pais": [None],
            "faixa_etaria": ["4"],
        }
    )
    _write(root, f"{base}/socios/part-00000.parquet", partners)
    day = pa.array([dt.date(2018, 1, 1)], pa.date32())
    none = pa.array([None], pa.date32())
    simples = pa.table(
        {
            "cnpj_basico": ["00000002"],
            "opcao_simples": ["S"],
            "data_opcao_simples": day,
            "data_exclusao_simples": none,
            "opcao_mei": ["S"],
            "data_opcao_mei": day,
            "data_exclusao_mei": none,
        }
    )
    _write(root, f"{base}/simples/part-00000.parquet", simples)
    domains = {
        "cnaes": [("5611201", "Restaurantes e similares"), ("5611204", "Bares")],
        "municipios": [("7107", "SAO PAULO"), ("6001", "RIO DE JANEIRO"), ("9707", "EXTERIOR")],
        "naturezas": [("2062", "Sociedade Empresária Limitada")],
        "qualificacoes": [("49", "Sócio-Administrador")],
        "paises": [("105", "BRASIL")],
        "motivos": [("00", "SEM MOTIVO")],
    }
    for name, pairs in domains.items():
        domain = pa.table({"codigo": [p[0] for p in pairs], "descricao": [p[1] for p in pairs]})
        _write(root, f"{base}/{name}/part-00000.parquet", domain)
    write_cnpj_manifests(root, release)


def write_cnpj_manifests(root: Path, release: str) -> None:
    """The ``_SUCCESS.json`` manifests the CNPJ writer publishes, for the parts present."""
    from flows import layout
    from flows.lake import Lake

    lake = Lake.from_url(str(root))
    prefix = layout.cnpj_release_prefix("trusted", release)
    tables = {}
    for folder in sorted(p for p in (root / prefix).iterdir() if p.is_dir()):
        parts = [
            {"key": path.name, "rows": pq.read_metadata(path).num_rows}
            for path in sorted(folder.glob("*.parquet"))
        ]
        tables[folder.name] = sum(part["rows"] for part in parts)
        manifest = {"release": release, "table": folder.name, "parts": parts}
        layout.write_manifest(
            lake, f"{prefix}/{folder.name}", {**manifest, "rows": tables[folder.name]}
        )
    layout.write_manifest(lake, prefix, {"release": release, "tables": tables})


# id, cnpj_hash, id_category, timestamp, value, amount
SALES = [
    (1, "h1", 1, dt.datetime(2026, 3, 16, 10, 21, 3), 100.0, 10),
    (2, "h1", 2, dt.datetime(2026, 3, 20, 9, 0), 50.5, 2),
    (3, "h4", 1, dt.datetime(2026, 3, 20, 18, 30), 30.0, 3),
    (4, "h4", 1, dt.datetime(2026, 4, 2, 8, 0), 20.0, 1),
    (5, "h9", 2, dt.datetime(2026, 4, 2, 12, 0), 7.25, 1),  # h9 is not in the registry
]


def write_partner(root: Path, broken_categories: bool = False) -> None:
    """``trusted/partner/<table>/``; sales in ``sale_date=YYYY-MM-DD/`` folders."""
    ids = ["1", "2", "x"] if broken_categories else [1, 2, 3]
    categories = pa.table(
        {"id": ids, "name": ["Cerveja", "Vinho", "Arroz"], "is_active": [True, True, False]}
    )
    _write(root, "trusted/partner/categories/part-00000.parquet", categories)
    partner_establishments = pa.table({"id": [1, 2, 3], "cnpj_hash": ["h1", "h4", "h9"]})
    _write(root, "trusted/partner/establishments/part-00000.parquet", partner_establishments)
    for day in sorted({sale[3].date() for sale in SALES}):
        rows = [sale for sale in SALES if sale[3].date() == day]
        sales = pa.table(
            {
                "id": [r[0] for r in rows],
                "cnpj_hash": [r[1] for r in rows],
                "id_category": [r[2] for r in rows],
                "sale_timestamp": pa.array([r[3] for r in rows], pa.timestamp("ms")),
                "value": [r[4] for r in rows],
                "amount": [r[5] for r in rows],
            }
        )
        _write(root, f"trusted/partner/sales/sale_date={day.isoformat()}/part-0.parquet", sales)


def write_public(root: Path) -> None:
    """``trusted/public/<dataset>/data.parquet`` named as in flows/catalog/public.yaml."""
    pof = pa.table(
        {
            "uf_code": ["35", "35", "33"],
            "uf": ["SP", "SP", "RJ"],
            "category": ["Cerveja", "Arroz", "Vinho"],
            "monthly_spending_per_family_brl": [50.0, 30.0, 40.0],
            "families_weighted": [1000.0, 1000.0, 500.0],
            "records": [3, 2, 1],
        }
    )
    _write(root, "trusted/public/pof_food_spending/data.parquet", pof)
    ipm = {
        "uf_code": ["BR", "35", "33"],
        "uf": ["BR", "SP", "RJ"],
        "period": ["2017-2018"] * 3,
        "ipm_nm": [2.3, 1.1, 1.5],
        "poor_share": [0.22, 0.1, 0.15],
    }
    _write(root, "trusted/public/ipm_nm_uf/data.parquet", pa.table(ipm))
    population = pa.table(
        {
            "ibge_code": [SP, RIO],
            "uf": ["SP", "RJ"],
            "name": ["São Paulo", "Rio de Janeiro"],
            "population": [12_000_000, 6_700_000],
            "reference_year": pa.array([2025, 2025], pa.int16()),
        }
    )
    _write(root, "trusted/public/population_municipalities/data.parquet", population)


def write_trusted_lake(root: Path, broken_categories: bool = False) -> Path:
    """The previous and current CNPJ releases, partner and public data."""
    write_cnpj_release(root, PREVIOUS, PREVIOUS_ESTABLISHMENTS)
    write_cnpj_release(root, RELEASE, ESTABLISHMENTS)
    write_partner(root, broken_categories)
    write_public(root)
    return root


MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
EXPECTED = {
    # (channel, uf, ibge, city, neighbourhood) -> establishments; h5 closed, h6 no channel
    "establishments_by_channel": {
        ("restaurant", "SP", SP, "São Paulo", "Centro"): 2,
        ("bar", "SP", SP, "São Paulo", "Pinheiros"): 1,
        ("supermarket", "RJ", RIO, "Rio de Janeiro", "Copacabana"): 1,
        ("snack_bar", "EX", None, "EXTERIOR", None): 1,  # named by Receita's Municipios
    },
    # (category, month, uf) -> (sales, quantity, value)
    "sales_by_category_month_uf": {
        ("Cerveja", MARCH, "SP"): (1, 10, 100.0),
        ("Cerveja", MARCH, "RJ"): (1, 3, 30.0),
        ("Cerveja", APRIL, "RJ"): (1, 1, 20.0),
        ("Vinho", MARCH, "SP"): (1, 2, 50.5),
        ("Vinho", APRIL, None): (1, 1, 7.25),  # h9 is not in the registry
    },
    # (uf, ibge, city, neighbourhood) -> (sales, quantity, value, customers)
    "sales_by_neighbourhood": {
        ("SP", SP, "São Paulo", "Centro"): (2, 12, 150.5, 1),
        ("RJ", RIO, "Rio de Janeiro", "Copacabana"): (2, 4, 50.0, 1),
        (None, None, None, None): (1, 1, 7.25, 1),
    },
    # (channel, uf, ibge) -> (establishments, customers, prospects); customers h1, h4
    "customers_vs_prospects": {
        ("restaurant", "SP", SP): (2, 1, 1),
        ("bar", "SP", SP): (1, 0, 1),
        ("supermarket", "RJ", RIO): (1, 1, 0),
        ("snack_bar", "EX", None): (1, 0, 1),
    },
    # (uf_code, category) -> (per family, expanded = per family x families_weighted)
    "food_spending_by_uf_category": {
        ("35", "Cerveja"): (50.0, 50_000.0),
        ("35", "Arroz"): (30.0, 30_000.0),
        ("33", "Vinho"): (40.0, 20_000.0),
    },
    # ibge -> (population, ipm_period, ipm_nm, poor_share, food per family, active outlets)
    # SP food per family: the UF's categories summed, 50 + 30 = 80
    "regional_indicators": {
        (SP,): (12_000_000, "2017-2018", 1.1, 0.1, 80.0, 3),
        (RIO,): (6_700_000, "2017-2018", 1.5, 0.15, 40.0, 1),
    },
}


def view_rows(engine: sa.Engine, view: str) -> dict[tuple, object]:
    """A view as {key columns: value columns}, shaped like ``EXPECTED``."""
    queries = {
        "establishments_by_channel": (
            "SELECT channel, uf, ibge_code, city, neighbourhood, establishments "
            "FROM mart.establishments_by_channel",
            5,
        ),
        "sales_by_category_month_uf": (
            "SELECT category, sale_month, uf, sales, quantity, sales_value "
            "FROM mart.sales_by_category_month_uf",
            3,
        ),
        "sales_by_neighbourhood": (
            "SELECT uf, ibge_code, city, neighbourhood, sales, quantity, sales_value, customers "
            "FROM mart.sales_by_neighbourhood",
            4,
        ),
        "customers_vs_prospects": (
            "SELECT channel, uf, ibge_code, establishments, customers, prospects "
            "FROM mart.customers_vs_prospects",
            3,
        ),
        "food_spending_by_uf_category": (
            "SELECT uf_code, category, monthly_spending_per_family_brl, "
            "expanded_monthly_spending FROM mart.food_spending_by_uf_category",
            2,
        ),
        "regional_indicators": (
            "SELECT ibge_code, population, ipm_period, ipm_nm, poor_share, "
            "monthly_food_spending_per_family, active_establishments "
            "FROM mart.regional_indicators "
            f"WHERE ibge_code IN ('{SP}', '{RIO}')",
            1,
        ),
    }
    sql, keys = queries[view]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql).fetchall()
    result = {}
    for row in rows:
        values = tuple(_plain(value) for value in row[keys:])
        result[tuple(row[:keys])] = values[0] if len(values) == 1 else values
    return result


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def table_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows of every core table."""
    from flows.warehouse.views import core_tables

    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {name}").scalar_one()
            for name in core_tables()
        }


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 16 (pgserver) for the session; yields its server object."""
    pgserver = pytest.importorskip("pgserver")
    # Not under pytest's tmp folder: as root, pgserver runs PostgreSQL as another user,
    # which cannot enter pytest's private (0700) folders.
    folder = tempfile.mkdtemp(prefix="bigd-pg-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's PostgreSQL; yields its SQLAlchemy URL."""
    name = f"bigd_{uuid.uuid4().hex[:10]}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    url = sa.engine.make_url(postgres_server.get_uri())
    return url.set(drivername="postgresql+psycopg2", database=name).render_as_string(
        hide_password=False
    )
