-- Schemas of the warehouse (Redshift SQL, the source of truth; translated with sqlglot).
-- staging: scratch tables shaped like the trusted Parquet, rebuilt on every load.
-- core:    typed, partitioned copies of the trusted zone (release, sale day or snapshot).
-- mart:    views for the notebooks and Metabase, and the model's output tables.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;
