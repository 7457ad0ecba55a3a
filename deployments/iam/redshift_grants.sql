-- Big D warehouse grants (Redshift SQL), idempotent. Run as the user the pipeline loads
-- with (the owner of the staging, core and mart schemas) after redshift_groups.sql, and
-- again after a load: a load drops and recreates the mart views, and a re-created view
-- keeps no grant of its own. The default privileges below cover the analysts' access to
-- new tables and views; marketing's per-view grants must be re-applied.

-- Nobody reads by default.
REVOKE ALL ON SCHEMA staging FROM PUBLIC;
REVOKE ALL ON SCHEMA core FROM PUBLIC;
REVOKE ALL ON SCHEMA mart FROM PUBLIC;

-- Pipeline: everything in the three schemas, now and later.
GRANT ALL ON SCHEMA staging TO GROUP bigd_pipeline;
GRANT ALL ON SCHEMA core TO GROUP bigd_pipeline;
GRANT ALL ON SCHEMA mart TO GROUP bigd_pipeline;
GRANT ALL ON ALL TABLES IN SCHEMA staging TO GROUP bigd_pipeline;
GRANT ALL ON ALL TABLES IN SCHEMA core TO GROUP bigd_pipeline;
GRANT ALL ON ALL TABLES IN SCHEMA mart TO GROUP bigd_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT ALL ON TABLES TO GROUP bigd_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT ALL ON TABLES TO GROUP bigd_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT ALL ON TABLES TO GROUP bigd_pipeline;

-- Analysts: read the scrubbed warehouse (core tables, mart views and model outputs).
GRANT USAGE ON SCHEMA core TO GROUP bigd_analyst;
GRANT USAGE ON SCHEMA mart TO GROUP bigd_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA core TO GROUP bigd_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO GROUP bigd_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT ON TABLES TO GROUP bigd_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO GROUP bigd_analyst;

-- Marketing and sales: the aggregates behind the reports and the Metabase dashboard
-- (no establishment-level row, no cnpj_hash, no core table). A view runs with its
-- owner's rights, so reading it needs no grant on the tables under it.
GRANT USAGE ON SCHEMA mart TO GROUP bigd_marketing;
GRANT SELECT ON mart.establishments_by_channel TO GROUP bigd_marketing;
GRANT SELECT ON mart.customers_vs_prospects TO GROUP bigd_marketing;
GRANT SELECT ON mart.sales_by_category_month_uf TO GROUP bigd_marketing;
GRANT SELECT ON mart.sales_by_neighbourhood TO GROUP bigd_marketing;
GRANT SELECT ON mart.food_spending_by_uf_category TO GROUP bigd_marketing;
GRANT SELECT ON mart.regional_indicators TO GROUP bigd_marketing;
GRANT SELECT ON mart.potential_by_region TO GROUP bigd_marketing;
