-- Core tables (Redshift DDL; DISTKEY/SORTKEY/DISTSTYLE are stripped through sqlglot's AST
-- for DuckDB and PostgreSQL). Only columns that survive the scrub policy appear here;
-- flows/warehouse/tables.py says which trusted column fills each one. A column added here
-- later is added to an existing warehouse by the next load (nullable, at the table's end:
-- flows/warehouse/views.py add_column_statements), so append new columns last.
-- Establishments, sales and partner establishments share DISTKEY(cnpj_hash) so the
-- customer joins are co-located; small dimension tables are copied to every node.
-- ENCODE ZSTD marks the near-unique identifiers (CNPJ, its root and hash, CEP prefix):
-- Redshift advises ZSTD for high-cardinality text, and DuckDB gets the same column
-- compression (views.py) instead of its default dictionary+FSST: a 5M-row DuckDB load
-- went from 933k to 1.14M rows/s for an 18% larger file (benchmarks/bench_load.py).

CREATE TABLE IF NOT EXISTS core.companies (
    release CHAR(7) NOT NULL,
    cnpj_basico VARCHAR(8) NOT NULL ENCODE ZSTD,
    natureza_juridica VARCHAR(4),
    qualificacao_responsavel VARCHAR(2),
    capital_social DECIMAL(18, 2),
    porte VARCHAR(2),
    ente_federativo_responsavel VARCHAR(256),
    -- The registered name, as the scrub left it: a pseudonym (EMPRESARIO INDIVIDUAL <hex>)
    -- for forms owned by one person. Last, because a warehouse created before it gets it
    -- by ALTER TABLE ... ADD COLUMN (create_schema), which appends.
    razao_social VARCHAR(256)
) DISTKEY (cnpj_basico) COMPOUND SORTKEY (release, cnpj_basico);

CREATE TABLE IF NOT EXISTS core.establishments (
    release CHAR(7) NOT NULL,
    cnpj VARCHAR(14) NOT NULL ENCODE ZSTD,
    cnpj_hash VARCHAR(128) NOT NULL ENCODE ZSTD,
    cnpj_basico VARCHAR(8) NOT NULL ENCODE ZSTD,
    identificador_matriz_filial VARCHAR(1),
    nome_fantasia VARCHAR(256),
    situacao_cadastral VARCHAR(2) NOT NULL,
    data_situacao_cadastral DATE,
    data_inicio_atividade DATE,
    cnae_fiscal_principal VARCHAR(7),
    cnae_fiscal_secundaria VARCHAR(2048),
    bairro VARCHAR(256),
    cep VARCHAR(8) ENCODE ZSTD,
    uf VARCHAR(2),
    municipio VARCHAR(4),
    municipio_ibge VARCHAR(7)
) DISTKEY (cnpj_hash) COMPOUND SORTKEY (release, uf, municipio);

CREATE TABLE IF NOT EXISTS core.partners (
    release CHAR(7) NOT NULL,
    cnpj_basico VARCHAR(8) NOT NULL ENCODE ZSTD,
    identificador_socio VARCHAR(1),
    qualificacao_socio VARCHAR(2),
    data_entrada_sociedade DATE,
    pais VARCHAR(3),
    faixa_etaria VARCHAR(1)
) DISTKEY (cnpj_basico) COMPOUND SORTKEY (release, cnpj_basico);

CREATE TABLE IF NOT EXISTS core.simples (
    release CHAR(7) NOT NULL,
    cnpj_basico VARCHAR(8) NOT NULL ENCODE ZSTD,
    opcao_simples VARCHAR(1),
    data_opcao_simples DATE,
    data_exclusao_simples DATE,
    opcao_mei VARCHAR(1),
    data_opcao_mei DATE,
    data_exclusao_mei DATE
) DISTKEY (cnpj_basico) COMPOUND SORTKEY (release, cnpj_basico);

CREATE TABLE IF NOT EXISTS core.cnaes (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.municipios (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.naturezas (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.qualificacoes (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.paises (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.motivos (
    release CHAR(7) NOT NULL, codigo VARCHAR(16) NOT NULL, descricao VARCHAR(512)
) DISTSTYLE ALL SORTKEY (release, codigo);

CREATE TABLE IF NOT EXISTS core.categories (
    id BIGINT NOT NULL, name VARCHAR(256), is_active BOOLEAN
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS core.partner_establishments (
    id BIGINT NOT NULL, cnpj_hash VARCHAR(128) NOT NULL ENCODE ZSTD
) DISTKEY (cnpj_hash);

CREATE TABLE IF NOT EXISTS core.sales (
    id BIGINT NOT NULL,
    cnpj_hash VARCHAR(128) NOT NULL ENCODE ZSTD,
    id_category BIGINT,
    sale_timestamp TIMESTAMP,
    sale_date DATE NOT NULL,
    value DOUBLE PRECISION,
    amount BIGINT
) DISTKEY (cnpj_hash) SORTKEY (sale_date);

-- Public datasets (flows/catalog/public.yaml names each one's table under `warehouse:`).
-- POF 2017-2018: mean monthly spending per family per UF x partner category (IBGE's method).
CREATE TABLE IF NOT EXISTS core.pof_food_spending (
    uf_code VARCHAR(2) NOT NULL,
    uf VARCHAR(2),
    category VARCHAR(256) NOT NULL,
    monthly_spending_per_family_brl DOUBLE PRECISION NOT NULL,
    families_weighted DOUBLE PRECISION NOT NULL,
    records BIGINT
) DISTSTYLE ALL SORTKEY (uf_code);

-- IPM-NM (0-100) and the weighted share of poor persons per UF; uf_code 'BR' is Brasil.
CREATE TABLE IF NOT EXISTS core.poverty_index (
    uf_code VARCHAR(2) NOT NULL,
    uf VARCHAR(2),
    period VARCHAR(9) NOT NULL,
    ipm_nm DOUBLE PRECISION NOT NULL,
    poor_share DOUBLE PRECISION
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS core.population (
    ibge_code VARCHAR(7) NOT NULL, name VARCHAR(256), uf VARCHAR(2), population BIGINT NOT NULL,
    reference_year SMALLINT
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS core.municipality_crosswalk (
    ibge_code VARCHAR(7) NOT NULL, tom_code VARCHAR(4) NOT NULL, name VARCHAR(256), uf VARCHAR(2)
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS core.channels (
    cnae VARCHAR(7) NOT NULL, channel VARCHAR(64) NOT NULL
) DISTSTYLE ALL;
