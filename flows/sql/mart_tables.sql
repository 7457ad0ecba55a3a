-- The model's outputs, filled by the analysis (never truncated by a load): one set of rows
-- per run_id, replaced whole when a run is loaded again (flows/analysis/mart.py, which also
-- adds columns missing from a table created by an older version of this file).
-- Columns as documented in docs/analysis.md (potential_by_region.parquet, top_prospects.parquet).
CREATE TABLE IF NOT EXISTS mart.potential_by_region (
    run_id VARCHAR(64) NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    uf VARCHAR(2),
    ibge_code VARCHAR(7),
    city VARCHAR(256),
    channel VARCHAR(64),
    category VARCHAR(256),
    establishments BIGINT,
    customers BIGINT,
    predicted_value DOUBLE PRECISION,
    predicted_low DOUBLE PRECISION,
    predicted_high DOUBLE PRECISION,
    observed_sales DOUBLE PRECISION,
    model VARCHAR(128)
) DISTSTYLE ALL COMPOUND SORTKEY (run_id, uf);

CREATE TABLE IF NOT EXISTS mart.top_prospects (
    run_id VARCHAR(64) NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    prospect_rank INTEGER NOT NULL,
    cnpj_hash VARCHAR(128) NOT NULL,
    nome_fantasia VARCHAR(256),
    channel VARCHAR(64),
    category VARCHAR(256),
    uf VARCHAR(2),
    ibge_code VARCHAR(7),
    city VARCHAR(256),
    neighbourhood VARCHAR(256),
    score DOUBLE PRECISION,
    predicted_low DOUBLE PRECISION,
    predicted_high DOUBLE PRECISION,
    model VARCHAR(128)
) DISTKEY (cnpj_hash) COMPOUND SORTKEY (run_id, prospect_rank);
