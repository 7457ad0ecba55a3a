"""The warehouse on DuckDB and on a real PostgreSQL: load, reload, failed load, views."""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from flows.lake import Lake
from flows.warehouse import ReconciliationError, engine_for, load, views
from flows.warehouse.duckdb import DuckDBLoader
from flows.warehouse.merge import MissingColumnError, used_columns
from flows.warehouse.postgres import ArrowCsvStream, PostgresLoader
from flows.warehouse.tables import discover
from flows.warehouse.views import file_statements, translate
from tests import warehouse_fixtures
from tests.warehouse_fixtures import (
    EXPECTED,
    PREVIOUS,
    RELEASE,
    table_counts,
    view_rows,
    write_trusted_lake,
)

# Fixtures shared with the other warehouse test module.
postgres_server = warehouse_fixtures.postgres_server
postgres_url = warehouse_fixtures.postgres_url

SQL_FILES = ("schemas.sql", "core.sql", "mart_tables.sql", "channels.sql", "views.sql")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.integration)])
def warehouse(request, tmp_path):
    """(engine, loader) for an empty warehouse of each kind."""
    if request.param == "duckdb":
        engine = engine_for(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
        loader = DuckDBLoader()
    else:
        engine = engine_for(request.getfixturevalue("postgres_url"))
        loader = PostgresLoader()
    yield engine, loader
    engine.dispose()


@pytest.fixture
def lake(tmp_path):
    return Lake.from_url(str(write_trusted_lake(tmp_path / "lake")))


def all_views(engine) -> dict[str, dict]:
    return {view: view_rows(engine, view) for view in EXPECTED}


# ---- SQL translation ---------------------------------------------------------------


@pytest.mark.parametrize("name", SQL_FILES)
def test_sql_files_translate_without_redshift_only_clauses(name):
    for statement in file_statements(name, "postgres"):
        tree = sqlglot.parse_one(statement, read="postgres")
        assert not list(tree.find_all(exp.DistKeyProperty, exp.SortKeyProperty))
        assert not list(tree.find_all(exp.DistStyleProperty, exp.EncodeColumnConstraint))
    for statement in file_statements(name, "duckdb"):
        # sqlglot cannot read DuckDB's USING COMPRESSION; DuckDB's own parser can.
        assert len(duckdb.connect().extract_statements(statement)) == 1
    for dialect in ("duckdb", "postgres"):
        text = " ".join(file_statements(name, dialect)).upper()
        for clause in ("DISTKEY", "SORTKEY", "DISTSTYLE", "ENCODE"):
            assert clause not in text


def test_encode_zstd_becomes_duckdb_compression_on_text_columns_only():
    sql = (
        "CREATE TABLE t (a VARCHAR(14) NOT NULL ENCODE ZSTD, b BIGINT ENCODE ZSTD, "
        "c VARCHAR(2) ENCODE BYTEDICT, d VARCHAR(8)) DISTKEY (a)"
    )
    duckdb_sql, postgres_sql = translate(sql, "duckdb")[0], translate(sql, "postgres")[0]
    assert duckdb_sql == (
        "CREATE TABLE t (a TEXT(14) NOT NULL USING COMPRESSION zstd, b BIGINT, c TEXT(2), "
        "d TEXT(8))"
    )
    assert "ENCODE" not in postgres_sql and "COMPRESSION" not in postgres_sql
    connection = duckdb.connect()
    connection.execute(duckdb_sql)  # DuckDB refuses zstd on a BIGINT: only text gets it
    connection.execute("INSERT INTO t VALUES ('12345678000199', 1, 'SP', 'x')")
    connection.execute("CHECKPOINT")


def test_duckdb_stores_the_declared_identifiers_with_zstd(tmp_path, lake):
    engine = engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")
    load(engine, lake, DuckDBLoader())
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
        compression = dict(
            conn.exec_driver_sql(
                "SELECT column_name, any_value(compression) "
                "FROM pragma_storage_info('core.establishments') "
                "WHERE segment_type = 'VARCHAR' GROUP BY column_name"
            ).all()
        )
    engine.dispose()
    assert compression["cnpj_hash"] == compression["cnpj"] == "ZSTD"
    assert compression["uf"] != "ZSTD"  # not declared: DuckDB chooses


def test_redshift_source_keeps_its_distribution_keys():
    redshift = " ".join(file_statements("core.sql", "redshift"))
    assert "DISTKEY(cnpj_hash)" in redshift and "DISTSTYLE ALL" in redshift
    for statement in file_statements("core.sql", "redshift"):
        sqlglot.parse_one(statement, read="redshift")


def test_redshift_functions_are_translated_not_replaced():
    sql = "SELECT NVL(a, 0), DATEADD(month, -1, GETDATE()) FROM t"
    duckdb_sql, postgres_sql = translate(sql, "duckdb")[0], translate(sql, "postgres")[0]
    assert "COALESCE(a, 0)" in duckdb_sql and "GETDATE" not in duckdb_sql.upper()
    assert "INTERVAL" in postgres_sql and "DATEADD" not in postgres_sql.upper()


def test_arrow_csv_stream_keeps_nulls_apart_from_empty_strings():
    batch = pa.record_batch({"s": ["a", "", None, 'x,"y']})
    stream = ArrowCsvStream([batch, batch.slice(0, 0), batch])
    data = b"".join(iter(lambda: stream.read(5), b""))
    assert data.decode().splitlines() == ['"a"', '""', "", '"x,""y"'] * 2


def test_only_the_columns_a_core_table_takes_are_staged(lake):
    inputs = {item.spec.name: item for item in discover(lake, RELEASE)}
    establishments = inputs["establishments"]
    used = used_columns(establishments)
    assert {"cnpj_ordem", "cnpj_dv", "motivo_situacao_cadastral"}.isdisjoint(used)
    assert {"cnpj", "cnpj_hash", "cnpj_basico", "municipio_ibge"} <= set(used)
    batch = next(establishments.only(used).batches())
    assert batch.schema.names == used and batch.num_rows > 0
    # Sales take sale_date from their hive folders, which a column projection must keep.
    sales = inputs["sales"].only(used_columns(inputs["sales"]))
    assert "sale_date" in sales.schema.names
    assert all(b.schema == sales.schema for b in sales.batches())


def _big_release(root, rows: int, row_group: int) -> Lake:
    """The fixture lake whose current release has ``rows`` establishments in two files of
    ``row_group``-row groups."""
    write_trusted_lake(root)
    table = warehouse_fixtures._establishments(
        [(f"x{i}", "5611201", "02", "SP", "7107", "3550308", "Centro") for i in range(rows)]
    )
    folder = root / "trusted" / "cnpj" / RELEASE / "estabelecimentos"
    half = rows // 2
    pq.write_table(table.slice(0, half), folder / "part-00000.parquet", row_group_size=row_group)
    pq.write_table(table.slice(half), folder / "part-00001.parquet", row_group_size=row_group)
    warehouse_fixtures.write_cnpj_manifests(root, RELEASE)
    return Lake.from_url(str(root))


def test_concurrent_readers_share_the_row_groups_without_overlap(tmp_path):
    lake = _big_release(tmp_path / "lake", rows=1_000, row_group=100)  # 5 + 5 row groups
    (item,) = [i for i in discover(lake, RELEASE) if i.spec.name == "establishments"]
    item = item.only(["cnpj_hash"])

    def hashes(part: int, parts: int) -> list[str]:
        return [h for b in item.batches(64, part, parts) for h in b.column(0).to_pylist()]

    everything = hashes(0, 1)
    assert len(everything) == 1_000
    shares = [hashes(part, 3) for part in range(3)]
    assert sorted(h for share in shares for h in share) == sorted(everything)  # none twice
    assert sorted(len(share) for share in shares) == [300, 300, 400]  # 10 groups over 3


# ---- loading -----------------------------------------------------------------------


def test_load_fills_every_view_with_the_hand_checked_aggregates(warehouse, lake):
    engine, loader = warehouse
    result = load(engine, lake, loader)
    assert result.release == RELEASE  # the latest release in the lake
    assert all(row.ok for row in result.reconciliation)
    assert result.null_columns == {"core.establishments": ["cep"]}  # scrubbed away
    sales_days = {r.partition for r in result.reconciliation if r.table == "core.sales"}
    assert sales_days == {"2026-03-16", "2026-03-20", "2026-04-02"}
    for view, expected in EXPECTED.items():
        assert view_rows(engine, view) == expected, view


def test_reload_gives_the_same_counts_and_keeps_other_releases(warehouse, lake):
    engine, loader = warehouse
    load(engine, lake, loader, PREVIOUS)
    load(engine, lake, loader, RELEASE)
    first = table_counts(engine)
    load(engine, lake, loader, RELEASE)
    assert table_counts(engine) == first
    assert first["core.establishments"] == 3 + 7  # both releases kept, each once
    assert all_views(engine) == EXPECTED


def test_failed_load_midway_leaves_previous_data_unchanged(warehouse, tmp_path):
    engine, loader = warehouse
    lake = Lake.from_url(str(write_trusted_lake(tmp_path / "good")))
    load(engine, lake, loader, PREVIOUS)
    counts, views = table_counts(engine), all_views(engine)
    # The new release's CNPJ tables swap fine, then a category id that is not a number
    # fails inside the same transaction: nothing of the new load may remain.
    broken = Lake.from_url(str(write_trusted_lake(tmp_path / "broken", broken_categories=True)))
    with pytest.raises(Exception, match=r"(?i)x|convert|invalid"):
        load(engine, broken, loader, RELEASE)
    assert table_counts(engine) == counts
    assert all_views(engine) == views
    with engine.connect() as conn:
        releases = conn.exec_driver_sql("SELECT DISTINCT release FROM core.establishments")
        assert [row[0] for row in releases] == [PREVIOUS]


def _create_warehouse_before_razao_social(engine, dialect: str) -> None:
    """The warehouse as the previous ``core.sql`` made it: ``core.companies`` without
    ``razao_social`` (the one column added since), holding an older release's row, and
    the mart views."""
    old_core = []
    for statement in views.parse((views.SQL_DIR / "core.sql").read_text(encoding="utf-8")):
        for column in list(statement.this.expressions):
            if isinstance(column, exp.ColumnDef) and column.name == "razao_social":
                column.pop()
        old_core.append(views.to_dialect(statement, dialect))
    with engine.begin() as conn:
        for statement in [*file_statements("schemas.sql", dialect), *old_core,
                          *file_statements("channels.sql", dialect),
                          *views.view_statements(dialect)]:  # fmt: skip
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO core.companies (release, cnpj_basico, natureza_juridica) "
            "VALUES ('2026-01', '00000009', '2062')"
        )


def _columns(engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core' "
            f"AND table_name = '{table}' ORDER BY ordinal_position"
        )]  # fmt: skip


def test_a_warehouse_created_before_a_column_gets_it_on_the_next_load(warehouse, lake):
    """``CREATE TABLE IF NOT EXISTS`` leaves an existing table as it is: the load adds the
    column (last, like a fresh table has it), fills it for the release it loads, keeps the
    older release's rows (NULL there), and a second load adds nothing."""
    engine, loader = warehouse
    _create_warehouse_before_razao_social(engine, loader.dialect)
    assert "razao_social" not in _columns(engine, "companies")
    result = load(engine, lake, loader, RELEASE)
    assert all(row.ok for row in result.reconciliation)
    declared = [column.name for column in views.core_tables()["core.companies"]]
    assert _columns(engine, "companies") == declared and declared[-1] == "razao_social"
    query = "SELECT release, cnpj_basico, razao_social FROM core.companies ORDER BY 1, 2"
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.exec_driver_sql(query)]
    assert rows == [
        ("2026-01", "00000009", None),
        (RELEASE, "00000001", "BEBIDAS ACME LTDA"),
        (RELEASE, "00000002", "EMPRESARIO INDIVIDUAL 0a1b2c3d"),
    ]
    present = {"core.companies": set(_columns(engine, "companies"))}
    assert views.add_column_statements(present, loader.dialect) == []
    load(engine, lake, loader, RELEASE)  # idempotent
    assert _columns(engine, "companies") == declared
    assert all_views(engine) == EXPECTED


@pytest.mark.integration
def test_postgres_copies_a_large_table_over_concurrent_streams(tmp_path, postgres_url, monkeypatch):
    from flows.warehouse import postgres

    rows = 3 * postgres.BATCH_ROWS
    lake = _big_release(tmp_path / "lake", rows=rows, row_group=postgres.BATCH_ROWS // 2)
    streams: list[str] = []
    real_copy = postgres.copy_batches

    def counted_copy(connection, table, schema, batches):
        if table == "staging.establishments":
            streams.append(threading.current_thread().name)
        real_copy(connection, table, schema, batches)

    monkeypatch.setattr(postgres, "copy_batches", counted_copy)
    engine = engine_for(postgres_url)
    result = load(engine, lake, PostgresLoader(), RELEASE)
    assert all(row.ok for row in result.reconciliation)
    assert len(set(streams)) == postgres.COPY_STREAMS > 1
    with engine.connect() as conn:
        loaded = conn.exec_driver_sql(
            "SELECT COUNT(DISTINCT cnpj_hash), MIN(cnpj_hash), MAX(cnpj_hash) "
            f"FROM core.establishments WHERE release = '{RELEASE}'"
        ).one()
    engine.dispose()
    assert tuple(loaded) == (rows, "x0", f"x{max(range(rows), key=str)}")


@pytest.mark.integration
def test_duckdb_loads_from_an_s3_lake_without_httpfs(tmp_path, s3_bucket):
    import pyarrow.fs as pafs

    endpoint, bucket = s3_bucket
    write_trusted_lake(tmp_path / "local")
    lake = Lake.from_url(f"s3://{bucket}/lake", endpoint)
    pafs.copy_files(str(tmp_path / "local"), lake.path(""), destination_filesystem=lake.filesystem)
    engine = engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")
    result = load(engine, lake, DuckDBLoader())
    assert all(row.ok for row in result.reconciliation)
    assert view_rows(engine, "sales_by_neighbourhood") == EXPECTED["sales_by_neighbourhood"]


class _LossyDuckDBLoader(DuckDBLoader):
    """Stages one establishment fewer than the trusted zone holds."""

    def stage(self, engine, item):
        super().stage(engine, item)
        if item.spec.name == "establishments":
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "CREATE TABLE staging.lossy AS SELECT * FROM staging.establishments LIMIT 6"
                )
                conn.exec_driver_sql("DROP VIEW staging.establishments")
                conn.exec_driver_sql("ALTER TABLE staging.lossy RENAME TO establishments")


def test_row_count_mismatch_fails_and_rolls_back(tmp_path, lake):
    engine = engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")
    load(engine, lake, DuckDBLoader(), PREVIOUS)
    counts = table_counts(engine)
    with pytest.raises(ReconciliationError) as failure:
        load(engine, lake, _LossyDuckDBLoader(), RELEASE)
    bad = [row for row in failure.value.rows if not row.ok]
    assert [(r.table, r.partition, r.trusted_rows, r.loaded_rows) for r in bad] == [
        ("core.establishments", RELEASE, 7, 6)
    ]
    assert table_counts(engine) == counts


def test_a_required_column_missing_from_trusted_data_fails_before_loading(tmp_path, lake):
    import pyarrow.parquet as pq

    for part in (tmp_path / "lake/trusted/partner/establishments").glob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["cnpj_hash"]), part)
    engine = engine_for(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with pytest.raises(MissingColumnError, match=r"partner_establishments\.cnpj_hash"):
        load(engine, lake, DuckDBLoader())


@pytest.mark.integration
def test_an_over_long_value_fails_the_load_instead_of_being_truncated(tmp_path, postgres_url):
    import pyarrow.parquet as pq

    engine = engine_for(postgres_url)
    lake = Lake.from_url(str(write_trusted_lake(tmp_path / "lake")))
    load(engine, lake, PostgresLoader(), PREVIOUS)
    before = table_counts(engine)
    part = next((tmp_path / "lake" / f"trusted/cnpj/{RELEASE}/estabelecimentos").glob("*.parquet"))
    table = pq.read_table(part)
    too_long = ["SAO PAULO"] * table.num_rows  # core.establishments.uf is VARCHAR(2)
    pq.write_table(table.set_column(table.schema.get_field_index("uf"), "uf", [too_long]), part)
    with pytest.raises(Exception, match="value too long"):
        load(engine, lake, PostgresLoader(), RELEASE)
    assert table_counts(engine) == before
    engine.dispose()


def test_only_load_engines_cap_duckdb_memory(tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    settings = {}
    for for_load in (False, True):
        engine = engine_for(url, for_load=for_load)
        with engine.connect() as conn:
            settings[for_load] = conn.exec_driver_sql(
                "SELECT current_setting('memory_limit'), "
                "current_setting('preserve_insertion_order')"
            ).one()
        engine.dispose()
    assert settings[True][0] == "244.1 MiB"  # DuckDB reads "256MB" as 256,000,000 bytes
    assert settings[False][0] != settings[True][0]
    assert settings[True][1] is False and settings[False][1] is False
