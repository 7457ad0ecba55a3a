"""Read what the analysis needs from the warehouse (any dialect: DuckDB, PostgreSQL, Redshift).

The registry query reads ``core`` tables of one CNPJ release because the ``mart`` views
leave out what the model needs (start date, matriz/filial, company size, Simples/MEI) and
what the shortlist shows (the registered name, ``core.companies.razao_social``, which the
scrub already replaced by a pseudonym for forms owned by one person); regional
indicators come from the ``mart.regional_indicators`` view.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

# Individual-entrepreneur legal forms: their trade name can be the owner's own name.
# The same codes as the scrub policy's razao_social replacement (flows/scrub/policy.toml).
PERSON_OWNED_FORMS_DATASET = "cnpj.empresas"

ESTABLISHMENTS_SQL = """
SELECT
    e.cnpj_hash,
    e.cnpj,
    e.nome_fantasia,
    e.cnae_fiscal_principal AS cnae,
    ch.channel,
    e.uf,
    e.municipio_ibge AS ibge_code,
    COALESCE(x.name, m.descricao) AS city,
    e.bairro AS neighbourhood,
    e.identificador_matriz_filial AS matriz_filial,
    e.data_inicio_atividade AS started_on,
    c.natureza_juridica,
    c.razao_social,
    CAST(c.capital_social AS DOUBLE PRECISION) AS capital_social,
    c.porte,
    s.opcao_simples,
    s.opcao_mei
FROM core.establishments AS e
JOIN core.channels AS ch ON ch.cnae = e.cnae_fiscal_principal
LEFT JOIN core.companies AS c ON c.release = e.release AND c.cnpj_basico = e.cnpj_basico
LEFT JOIN core.simples AS s ON s.release = e.release AND s.cnpj_basico = e.cnpj_basico
LEFT JOIN core.municipality_crosswalk AS x ON x.ibge_code = e.municipio_ibge
LEFT JOIN core.municipios AS m ON m.codigo = e.municipio AND m.release = e.release
WHERE e.release = :release AND e.situacao_cadastral = '02' AND e.uf <> 'EX'
"""

CUSTOMERS_SQL = "SELECT DISTINCT cnpj_hash FROM core.partner_establishments"
# The registry is read in parts by the first character of cnpj_hash (a keyed hash in hex:
# 16 parts of about the same size, whatever the states' sizes), on every warehouse.
PART = "SUBSTRING(e.cnpj_hash, 1, 1)"
PARTS_SQL = (
    f"SELECT DISTINCT {PART} AS part FROM core.establishments AS e "
    "WHERE e.release = :release ORDER BY part"
)

MONTHLY_SALES_SQL = """
SELECT
    s.cnpj_hash,
    c.name AS category,
    CAST(DATE_TRUNC('month', s.sale_date) AS DATE) AS month,
    SUM(s.value) AS sales_value,
    COUNT(*) AS sale_rows
FROM core.sales AS s
JOIN core.categories AS c ON c.id = s.id_category
WHERE s.sale_date >= :start AND s.sale_date < :stop
GROUP BY s.cnpj_hash, c.name, CAST(DATE_TRUNC('month', s.sale_date) AS DATE)
"""

# Every column: the public tables are changing shape (issue 11 aggregates the POF per UF ×
# category and renames the view's food spending); features.py accepts both shapes.
REGIONS_SQL = "SELECT * FROM mart.regional_indicators"
POF_SQL = "SELECT * FROM core.pof_food_spending"


# Registry columns with few distinct values (a channel, a UF, a city's code): held as
# categories, a byte or two per establishment instead of a string each. At national size
# (a few million establishments) that is most of the registry frame's memory.
CATEGORICAL_COLUMNS = (
    "cnae",
    "channel",
    "uf",
    "ibge_code",
    "city",
    "neighbourhood",
    "matriz_filial",
    "natureza_juridica",
    "porte",
    "opcao_simples",
    "opcao_mei",
)


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``CATEGORICAL_COLUMNS`` as categories (in place; returned)."""
    for column in CATEGORICAL_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("category")
    return frame


def query_registry(engine: Engine, sql: str, release: str) -> pd.DataFrame:
    """The registry read for one release, compact (``CATEGORICAL_COLUMNS`` as categories),
    in parts (``PART``): only one part's rows are ever held at full width (strings), so a
    national release (a few million establishments) is read in a fraction of the memory a
    single result takes, on any warehouse."""
    import pyarrow as pa

    from flows.analysis.memory import release as release_memory

    parts = []
    for value in query(engine, PARTS_SQL, release=release)["part"].dropna().tolist():
        part = query(engine, f"{sql} AND {PART} = :part", release=release, part=value)
        if len(part):  # one row per establishment (a duplicate is in its own part)
            parts.append(compact_arrow(part.drop_duplicates("cnpj_hash", ignore_index=True)))
        del part
        release_memory()  # the allocators keep freed memory for reuse otherwise
    if not parts:
        return compact(query(engine, sql, release=release))
    table = pa.concat_tables(parts).unify_dictionaries()
    del parts
    text = pd.StringDtype("pyarrow", na_value=float("nan"))  # pandas' str: Arrow-held
    frame = table.to_pandas(
        self_destruct=True,
        split_blocks=True,
        date_as_object=False,
        types_mapper=lambda kind: text if pa.types.is_large_string(kind) else None,
    )
    del table
    release_memory()
    return frame


def compact_arrow(frame: pd.DataFrame):
    """``frame`` as an Arrow table in Arrow's own memory: the ``CATEGORICAL_COLUMNS``
    dictionary-encoded, every other column copied (a DuckDB result's columns share its
    buffers, which would live on, all of them, as long as any one column does)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(frame, preserve_index=False)
    del frame
    every = pa.array(np.arange(table.num_rows))
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_null(column.type) or name in CATEGORICAL_COLUMNS:
            column = column.cast(pa.large_string())  # an all-empty column is text too
        columns.append(
            pc.dictionary_encode(column) if name in CATEGORICAL_COLUMNS else column.take(every)
        )
    return pa.table(columns, names=table.column_names)


def query(engine: Engine, sql: str, **params: object) -> pd.DataFrame:
    """Run one SELECT and return a DataFrame (DuckDB straight to pandas, not row by row)."""
    with engine.connect() as connection:
        if engine.url.get_backend_name() == "duckdb":
            raw: Any = connection.connection.driver_connection
            duck_sql = re.sub(r":(\w+)", r"$\1", sql)
            return raw.execute(duck_sql, params).df()
        return pd.read_sql_query(sa.text(sql), connection, params=params)


RAZAO_SOCIAL_SQL = (
    "SELECT COUNT(*) AS found FROM information_schema.columns WHERE table_schema = 'core' "
    "AND table_name = 'companies' AND column_name = 'razao_social'"
)


def registry_sql(engine: Engine) -> str:
    """``ESTABLISHMENTS_SQL``; on a warehouse created before ``core.companies`` had
    ``razao_social`` and not loaded since (the next load adds it), the names are null."""
    if int(query(engine, RAZAO_SOCIAL_SQL)["found"].iloc[0]):
        return ESTABLISHMENTS_SQL
    log.warning(
        "core.companies has no razao_social yet (a warehouse created before it was loaded): "
        "legal names stay empty until the next `bigd load`"
    )
    unnamed = "CAST(NULL AS VARCHAR(256)) AS razao_social,"
    return ESTABLISHMENTS_SQL.replace("c.razao_social,", unnamed)


def latest_release(engine: Engine) -> str:
    """The latest CNPJ release loaded (``YYYY-MM``)."""
    found = query(engine, "SELECT MAX(release) AS release FROM core.establishments")
    if found.empty or pd.isna(found["release"].iloc[0]):
        raise LookupError("no CNPJ release is loaded in the warehouse")
    return str(found["release"].iloc[0])


def latest_sale_month(engine: Engine) -> str:
    """The month (``YYYY-MM``) of the latest partner sale loaded."""
    found = query(engine, "SELECT MAX(sale_date) AS last FROM core.sales")
    if found.empty or pd.isna(found["last"].iloc[0]):
        raise LookupError("no partner sales are loaded in the warehouse")
    return pd.Timestamp(found["last"].iloc[0]).strftime("%Y-%m")


@dataclass(frozen=True)
class Window:
    """A whole-month window of sales, both ends inclusive (``YYYY-MM``)."""

    start: str
    end: str

    @classmethod
    def ending(cls, end: str, months: int) -> Window:
        last = pd.Period(end, freq="M")
        return cls(str(last - (months - 1)), str(last))

    @property
    def first_day(self) -> dt.date:
        return pd.Period(self.start, freq="M").start_time.date()

    @property
    def stop_day(self) -> dt.date:
        """The first day after the window."""
        return (pd.Period(self.end, freq="M") + 1).start_time.date()

    @property
    def months(self) -> list[str]:
        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}


@dataclass
class WarehouseData:
    """The raw frames the features are built from."""

    release: str
    window: Window
    # active establishments of the channels, one per cnpj_hash; study.prepare builds the
    # features in this frame (no second copy of a few million rows) and leaves them here
    establishments: pd.DataFrame
    customers: set[str]
    monthly_sales: pd.DataFrame  # cnpj_hash, category, month, sales_value, sale_rows
    regions: pd.DataFrame  # per IBGE municipality
    pof: pd.DataFrame  # POF records


def read_warehouse(
    engine: Engine,
    release: str | None = None,
    window: Window | None = None,
    months: int = 12,
    channels: list[str] | None = None,
) -> WarehouseData:
    """Everything the analysis reads, for one release and sales window."""
    release = release or latest_release(engine)
    window = window or Window.ending(latest_sale_month(engine), months)
    establishments = query_registry(engine, registry_sql(engine), release)
    if channels:
        establishments = establishments[establishments["channel"].isin(channels)].reset_index(
            drop=True
        )
    sales = query(engine, MONTHLY_SALES_SQL, start=window.first_day, stop=window.stop_day)
    sales["month"] = pd.to_datetime(sales["month"]).dt.strftime("%Y-%m")
    from flows.analysis.memory import release as release_memory

    release_memory()
    return WarehouseData(
        release=release,
        window=window,
        establishments=establishments,
        customers=set(query(engine, CUSTOMERS_SQL)["cnpj_hash"]),
        monthly_sales=sales,
        regions=query(engine, REGIONS_SQL),
        pof=query(engine, POF_SQL),
    )


def person_owned_forms() -> frozenset[str]:
    """Legal forms owned by one natural person, from the scrub policy (one list kept)."""
    from flows.scrub import load_policy

    rules = load_policy().for_dataset(PERSON_OWNED_FORMS_DATASET).replace
    return frozenset(code for rule in rules for code in rule.codes)
