"""The warehouse grants: Redshift SQL that sqlglot parses, run (translated) on a real
PostgreSQL with the three groups, each reading and writing exactly what its role may."""

from __future__ import annotations

import shutil
import tempfile

import pytest
import sqlalchemy as sa

from flows.iam import warehouse_grants
from flows.warehouse import create_schema
from flows.warehouse.views import core_tables, view_names

# The spec (README "Access"): marketing reads the aggregates behind the reports only.
MARKETING = {
    "mart.establishments_by_channel",
    "mart.customers_vs_prospects",
    "mart.sales_by_category_month_uf",
    "mart.sales_by_neighbourhood",
    "mart.food_spending_by_uf_category",
    "mart.regional_indicators",
    "mart.potential_by_region",
}
MART_TABLES = {"mart.potential_by_region", "mart.prospects", "mart.top_prospects"}
STAGING = {"staging.scratch"}
GROUPS = {"pipeline": "bigd_pipeline", "analyst": "bigd_analyst", "marketing": "bigd_marketing"}


def expected_reads() -> dict[str, set[str]]:
    core = set(core_tables())
    mart = set(view_names()) | MART_TABLES
    return {"pipeline": core | mart | STAGING, "analyst": core | mart, "marketing": MARKETING}


def test_every_statement_parses_as_redshift_sql():
    statements = warehouse_grants("redshift")
    assert any(s.startswith("ALTER DEFAULT PRIVILEGES") for s in statements)
    assert any("ON ALL TABLES IN SCHEMA core" in s for s in statements)
    assert {f"CREATE GROUP {group}" for group in GROUPS.values()} <= set(statements)


def test_an_unknown_statement_is_refused(tmp_path, monkeypatch):
    import flows.iam

    (tmp_path / "bad.sql").write_text("GRANT SELECT ON ALL TABLES IN SCHEMA core TO bob WITH x;")
    monkeypatch.setattr(flows.iam, "IAM_DIR", tmp_path)
    with pytest.raises(ValueError, match="not a known Redshift grant form"):
        warehouse_grants("postgres", files=("bad.sql",))


@pytest.mark.integration
class TestOnPostgres:
    @pytest.fixture(scope="class")
    def warehouse(self):
        """A PostgreSQL of its own (groups are cluster-wide), with Big D's schema, a
        staging table and the grants applied; yields an engine."""
        pgserver = pytest.importorskip("pgserver")
        folder = tempfile.mkdtemp(prefix="bigd-pg-iam-")
        server = pgserver.get_server(folder, cleanup_mode="stop")
        url = sa.engine.make_url(server.get_uri()).set(drivername="postgresql+psycopg2")
        engine = sa.create_engine(url)
        try:
            create_schema(engine, "postgres")
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE staging.scratch (x INTEGER)")
                for statement in warehouse_grants("postgres"):
                    conn.exec_driver_sql(statement)
            yield engine
        finally:
            engine.dispose()
            server.cleanup()
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def readable(engine: sa.Engine, group: str) -> set[str]:
        objects = expected_reads()["pipeline"]
        seen = set()
        with engine.connect() as conn:
            for name in sorted(objects):
                conn.exec_driver_sql(f"SET ROLE {group}")
                try:
                    conn.exec_driver_sql(f"SELECT * FROM {name} LIMIT 0")
                    seen.add(name)
                except sa.exc.ProgrammingError as error:
                    assert "permission denied" in str(error)
                conn.rollback()
        return seen

    @pytest.mark.parametrize("role", GROUPS)
    def test_each_role_reads_exactly_its_objects(self, warehouse, role):
        assert self.readable(warehouse, GROUPS[role]) == expected_reads()[role]

    @pytest.mark.parametrize("role", GROUPS)
    def test_only_the_pipeline_writes(self, warehouse, role):
        with warehouse.connect() as conn:
            conn.exec_driver_sql(f"SET ROLE {GROUPS[role]}")
            try:
                conn.exec_driver_sql(
                    "INSERT INTO mart.potential_by_region (run_id, scored_at) "
                    "VALUES ('t', CURRENT_TIMESTAMP)"
                )
                wrote = True
            except sa.exc.ProgrammingError as error:
                assert "permission denied" in str(error)
                wrote = False
            conn.rollback()
        assert wrote == (role == "pipeline")

    def test_a_reload_keeps_analysts_and_the_grants_rerun_restores_marketing(self, warehouse):
        """A load recreates the views: default privileges keep the analysts' access; the
        per-view marketing grants are back once redshift_grants.sql is re-run."""
        create_schema(warehouse, "postgres")
        assert self.readable(warehouse, "bigd_analyst") == expected_reads()["analyst"]
        assert self.readable(warehouse, "bigd_marketing") == {"mart.potential_by_region"}
        with warehouse.begin() as conn:
            for statement in warehouse_grants("postgres", files=("redshift_grants.sql",)):
                conn.exec_driver_sql(statement)
        assert self.readable(warehouse, "bigd_marketing") == MARKETING
