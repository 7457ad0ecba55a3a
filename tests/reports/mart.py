"""A small DuckDB warehouse holding the mart views the infographic reads, as tables
with the same columns (the notebook only reads them)."""

from __future__ import annotations

from pathlib import Path

import duckdb

UFS = ["SP", "RJ", "MG", "RS", "BA", "PE", "AM", "DF"]
CITIES = {"SP": "São Paulo", "RJ": "Rio de Janeiro", "MG": "Belo Horizonte", "RS": "Porto Alegre"}


def write_mart(path: Path) -> str:
    """Create the DuckDB file; returns its SQLAlchemy URL."""
    connection = duckdb.connect(str(path))
    try:
        connection.execute("CREATE SCHEMA mart")
        connection.execute(
            "CREATE TABLE mart.establishments_by_channel (channel TEXT, uf TEXT, ibge_code TEXT,"
            " city TEXT, neighbourhood TEXT, establishments BIGINT)"
        )
        connection.execute(
            "INSERT INTO mart.establishments_by_channel VALUES"
            " ('restaurant','SP','3550308','São Paulo','Centro',1200),"
            " ('bar','SP','3550308','São Paulo','Moema',800),"
            " ('supermarket','RJ','3304557','Rio de Janeiro','Tijuca',150),"
            " ('snack_bar','MG','3106200','Belo Horizonte','Savassi',430)"
        )
        connection.execute(
            "CREATE TABLE mart.sales_by_category_month_uf (category TEXT, sale_month DATE,"
            " uf TEXT, sales BIGINT, quantity DOUBLE, sales_value DOUBLE)"
        )
        rows = []
        for month in range(1, 13):
            for index, uf in enumerate(UFS):
                for category, base in (("Cerveja", 9000.0), ("Vinho", 4000.0), ("Arroz", 2500.0)):
                    value = base * (1 + index) * (1 + 0.05 * month)
                    rows.append((category, f"2026-{month:02d}-01", uf, 10, value / 12, value))
        connection.executemany(
            "INSERT INTO mart.sales_by_category_month_uf VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        connection.execute(
            "CREATE TABLE mart.sales_by_neighbourhood (uf TEXT, ibge_code TEXT, city TEXT,"
            " neighbourhood TEXT, sales BIGINT, quantity DOUBLE, sales_value DOUBLE,"
            " customers BIGINT)"
        )
        neighbourhoods = []
        for uf, city in CITIES.items():
            for rank, name in enumerate(["Centro", "Jardins", "Vila Nova", "Boa Vista"]):
                neighbourhoods.append((uf, "0000000", city, name, 5, 50.0, 10000.0 / (rank + 1), 3))
        connection.executemany(
            "INSERT INTO mart.sales_by_neighbourhood VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            neighbourhoods,
        )
    finally:
        connection.close()
    return f"duckdb:///{path}"
