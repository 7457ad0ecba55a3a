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
    prospects BIGINT,
    predicted_value DOUBLE PRECISION,
    expected_revenue DOUBLE PRECISION,
    mean_p_convert DOUBLE PRECISION,
    predicted_low DOUBLE PRECISION,
    predicted_high DOUBLE PRECISION,
    observed_sales DOUBLE PRECISION,
    model VARCHAR(128)
) DISTSTYLE ALL COMPOUND SORTKEY (run_id, uf);

-- One row per scored prospect (prospects.parquet).
CREATE TABLE IF NOT EXISTS mart.prospects (
    run_id VARCHAR(64) NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    cnpj_hash VARCHAR(128) NOT NULL,
    cnpj VARCHAR(14),
    trade_name VARCHAR(256),
    legal_name VARCHAR(256),
    person_owned BOOLEAN,
    channel VARCHAR(64),
    uf VARCHAR(2),
    ibge_code VARCHAR(7),
    city VARCHAR(256),
    neighbourhood VARCHAR(256),
    p_convert DOUBLE PRECISION,
    expected_spend DOUBLE PRECISION,
    expected_revenue DOUBLE PRECISION,
    revenue_low DOUBLE PRECISION,
    revenue_high DOUBLE PRECISION,
    likelihood VARCHAR(8),
    rank BIGINT,
    rank_in_uf BIGINT,
    model VARCHAR(128)
) DISTKEY (cnpj_hash) COMPOUND SORTKEY (run_id, rank);

-- The shortlist (top_prospects.parquet): the best N overall and per UF x category.
CREATE TABLE IF NOT EXISTS mart.top_prospects (
    run_id VARCHAR(64) NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    scope VARCHAR(16) NOT NULL,
    category VARCHAR(256),
    rank BIGINT NOT NULL,
    cnpj_hash VARCHAR(128) NOT NULL,
    cnpj VARCHAR(14),
    trade_name VARCHAR(256),
    legal_name VARCHAR(256),
    person_owned BOOLEAN,
    channel VARCHAR(64),
    uf VARCHAR(2),
    ibge_code VARCHAR(7),
    city VARCHAR(256),
    neighbourhood VARCHAR(256),
    p_convert DOUBLE PRECISION,
    expected_spend DOUBLE PRECISION,
    expected_revenue DOUBLE PRECISION,
    revenue_low DOUBLE PRECISION,
    revenue_high DOUBLE PRECISION,
    likelihood VARCHAR(8),
    rank_overall BIGINT,
    rank_in_uf BIGINT,
    model VARCHAR(128)
) DISTKEY (cnpj_hash) COMPOUND SORTKEY (run_id, scope, rank);
