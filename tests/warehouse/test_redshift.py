"""Redshift, which cannot run here: its SQL parses as Redshift SQL, its S3 staging and
manifest are checked on a real S3 API (moto), and its staging/swap SQL runs on
PostgreSQL through the ``redshift+psycopg2`` dialect with only the COPY replaced."""

from __future__ import annotations

import json

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from flows.lake import Lake
from flows.warehouse import create_schema, engine_for, load
from flows.warehouse.merge import create_staging_sql, swap_plan
from flows.warehouse.postgres import copy_batches
from flows.warehouse.redshift import (
    LOAD_ERRORS_SQL,
    RedshiftLoader,
    RedshiftLoadError,
    file_count,
)
from flows.warehouse.tables import discover
from flows.warehouse.views import add_column_statements, file_statements
from tests import warehouse_fixtures
from tests.warehouse_fixtures import (
    EXPECTED,
    RELEASE,
    view_rows,
    write_trusted_lake,
)

# Fixtures shared with the other warehouse test module.
postgres_server = warehouse_fixtures.postgres_server
postgres_url = warehouse_fixtures.postgres_url

ROLE = "arn:aws:iam::123456789012:role/bigd-redshift-copy"


def s3_filesystem(endpoint: str) -> pafs.S3FileSystem:
    scheme, _, host = endpoint.partition("://")
    return pafs.S3FileSystem(
        endpoint_override=host, scheme=scheme, access_key="testing", secret_key="testing"
    )


@pytest.fixture
def lake(tmp_path):
    return Lake.from_url(str(write_trusted_lake(tmp_path / "lake")))


def test_every_statement_of_a_redshift_load_parses_as_redshift(lake):
    loader = RedshiftLoader(ROLE, "s3://bucket/staging", 4, pafs.LocalFileSystem())
    statements = [loader.copy_sql("staging.sales", "s3://bucket/staging/x/sales.manifest")]
    statements.append(LOAD_ERRORS_SQL)
    for item in discover(lake, RELEASE):
        statements += create_staging_sql(item.spec.staging, item.schema, "redshift")
        statements += swap_plan(item, "redshift").statements
    for name in ("schemas.sql", "core.sql", "mart_tables.sql", "channels.sql", "views.sql"):
        statements += file_statements(name, "redshift")
    # A core table created before a column was declared (razao_social; cnpj_hash ENCODE ZSTD).
    added = add_column_statements({"core.companies": {"release", "cnpj_basico"},
                                   "core.sales": {"id"}}, "redshift")  # fmt: skip
    assert "ALTER TABLE core.companies ADD COLUMN razao_social VARCHAR(256)" in added
    assert "ALTER TABLE core.sales ADD COLUMN cnpj_hash VARCHAR(128) ENCODE ZSTD" in added
    assert not any("NOT NULL" in statement for statement in added)
    statements += added
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="redshift")
        assert not list(tree.find_all(exp.Command)), f"not really parsed: {statement[:80]}"
    copy = sqlglot.parse_one(statements[0], read="redshift")
    assert isinstance(copy, exp.Copy)
    params = {p.this.name.upper() for p in copy.args["params"]}
    assert params == {"FORMAT", "MANIFEST"} and ROLE in statements[0]


def test_staging_text_columns_are_not_redshift_text():
    import pyarrow as pa

    ddl = create_staging_sql("staging.t", pa.schema([("name", pa.string())]), "redshift")[1]
    assert "VARCHAR(65535)" in ddl  # Redshift's TEXT would silently mean VARCHAR(256)


@pytest.mark.parametrize(("rows", "slices", "files"), [(0, 4, 4), (5, 4, 4), (9, 2, 2), (9, 2, 6)])
def test_file_count_is_a_multiple_of_the_slices(rows, slices, files):
    assert file_count(rows, slices, rows_per_file=2 if files == 6 else 1000) == files


@pytest.mark.integration
def test_staging_files_and_manifest_on_a_real_s3_api(s3_bucket, lake):
    endpoint, bucket = s3_bucket
    filesystem = s3_filesystem(endpoint)
    loader = RedshiftLoader(ROLE, f"s3://{bucket}/staging", 2, filesystem, rows_per_file=2)
    sales = next(item for item in discover(lake, RELEASE) if item.spec.name == "sales")
    staged = loader.write_staging_files(sales)

    manifest = json.loads(filesystem.open_input_stream(staged.manifest_uri[5:]).read())
    urls = [entry["url"] for entry in manifest["entries"]]
    assert len(urls) % 2 == 0 and len(urls) == 4  # 5 rows, 2 per file, 2 slices -> 4 files
    assert all(entry["mandatory"] for entry in manifest["entries"])
    rows = []
    for entry in manifest["entries"]:
        path = entry["url"].removeprefix("s3://")
        assert entry["meta"]["content_length"] == filesystem.get_file_info(path).size
        parquet = pq.ParquetFile(filesystem.open_input_file(path))
        assert parquet.metadata.row_group(0).column(0).compression == "SNAPPY"
        assert parquet.schema_arrow.names[-1] == "sale_date"  # hive folder became a column
        rows.append(parquet.metadata.num_rows)
    assert rows == [2, 1, 1, 1]  # evenly sized
    assert sum(rows) == staged.rows == sales.num_rows

    loader.cleanup(engine_for("duckdb:///:memory:"), [])
    assert not filesystem.get_file_info(pafs.FileSelector(f"{bucket}/staging", recursive=True))


class CopyFromS3ViaStdin(RedshiftLoader):
    """Replaces only COPY: reads the manifest's files from S3 and streams them to PostgreSQL."""

    def copy(self, conn, staging, staged):
        manifest = json.loads(self.filesystem.open_input_stream(staged.manifest_uri[5:]).read())
        for entry in manifest["entries"]:
            parquet = pq.ParquetFile(self.filesystem.open_input_file(entry["url"][5:]))
            copy_batches(
                conn.connection.driver_connection,
                staging,
                parquet.schema_arrow,
                parquet.iter_batches(),
            )


def redshift_url(plain_url: str) -> str:
    """The same database through the redshift+psycopg2 dialect (no SSL locally)."""
    url = sa.engine.make_url(plain_url)
    url = url.set(drivername="redshift+psycopg2", query={**url.query, "sslmode": "disable"})
    return url.render_as_string(hide_password=False)


@pytest.mark.integration
def test_redshift_staging_and_swap_sql_run_on_postgres(s3_bucket, lake, postgres_url):
    endpoint, bucket = s3_bucket
    create_schema(engine_for(postgres_url), "postgres")  # DISTKEY etc. only exist on Redshift
    engine = engine_for(redshift_url(postgres_url))
    loader = CopyFromS3ViaStdin(ROLE, f"s3://{bucket}/staging", 2, s3_filesystem(endpoint))
    for _ in range(2):  # a reload gives the same rows
        result = load(engine, lake, loader, create=False)
        assert all(row.ok for row in result.reconciliation)
    for view, expected in EXPECTED.items():
        assert view_rows(engine, view) == expected, view


@pytest.mark.integration
def test_failed_copy_reports_stl_load_errors(s3_bucket, lake, postgres_url):
    endpoint, bucket = s3_bucket
    plain = engine_for(postgres_url)
    create_schema(plain, "postgres")
    with plain.begin() as conn:  # stand-ins for Redshift's system table and function
        conn.exec_driver_sql(
            "CREATE TABLE stl_load_errors (query INT, filename TEXT, line_number INT, "
            "colname TEXT, err_code INT, err_reason TEXT, starttime TIMESTAMP DEFAULT now())"
        )
        conn.exec_driver_sql(
            "INSERT INTO stl_load_errors (query, filename, line_number, colname, err_code, "
            "err_reason) VALUES (42, 's3://b/part-00000.parquet', 1, 'value', 1207, "
            "'Invalid digit, Value ''x''')"
        )
        conn.exec_driver_sql(
            "CREATE FUNCTION pg_last_copy_id() RETURNS INT AS 'SELECT 42' LANGUAGE sql"
        )
    engine = engine_for(redshift_url(postgres_url))
    loader = RedshiftLoader(ROLE, f"s3://{bucket}/staging", 2, s3_filesystem(endpoint))
    item = next(item for item in discover(lake, RELEASE) if item.spec.name == "categories")
    with pytest.raises(RedshiftLoadError, match="Invalid digit") as failure:
        loader.stage(engine, item)  # PostgreSQL rejects Redshift's COPY syntax
    assert "staging.categories" in str(failure.value) and "1207" in str(failure.value)


def test_a_redshift_warehouse_needs_role_and_staging_settings(monkeypatch):
    from flows.config import load_settings
    from flows.warehouse import loader_for
    from flows.warehouse.redshift import RedshiftLoader

    monkeypatch.setenv("BIGD_WAREHOUSE_URL", "redshift+psycopg2://u:p@127.0.0.1:5439/dev")
    engine = sa.create_engine(load_settings().warehouse)
    with pytest.raises(ValueError, match="BIGD_REDSHIFT_IAM_ROLE and BIGD_REDSHIFT_STAGING"):
        loader_for(engine, load_settings())
    monkeypatch.setenv("BIGD_REDSHIFT_IAM_ROLE", "arn:aws:iam::123456789012:role/bigd-copy")
    monkeypatch.setenv("BIGD_REDSHIFT_STAGING_PREFIX", "s3://staging/bigd")
    monkeypatch.setenv("BIGD_REDSHIFT_SLICES", "4")
    # Building the loader only configures its S3 client: no S3 server is needed (or reached).
    monkeypatch.setenv("BIGD_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    loader = loader_for(engine, load_settings())
    assert isinstance(loader, RedshiftLoader)
    assert loader.slices == 4
