-- Views for the notebooks and Metabase (Redshift SQL; translated with sqlglot).
-- Registry views read the latest CNPJ release loaded. In dependency order: the loader
-- drops them in reverse order and creates them in this order.

-- Every establishment of the latest release, with its channel (if any) and city name.
CREATE VIEW mart.current_establishments AS
SELECT
    e.release,
    e.cnpj,
    e.cnpj_hash,
    e.nome_fantasia,
    e.situacao_cadastral,
    e.cnae_fiscal_principal AS cnae,
    ch.channel,
    e.uf,
    e.municipio AS tom_code,
    e.municipio_ibge AS ibge_code,
    COALESCE(x.name, m.descricao) AS city,
    e.bairro AS neighbourhood
FROM core.establishments AS e
LEFT JOIN core.channels AS ch ON ch.cnae = e.cnae_fiscal_principal
LEFT JOIN core.municipality_crosswalk AS x ON x.ibge_code = e.municipio_ibge
LEFT JOIN core.municipios AS m ON m.codigo = e.municipio AND m.release = e.release
WHERE e.release = (SELECT MAX(release) FROM core.establishments);

-- Active establishments (situacao_cadastral 02) of a channel of interest.
CREATE VIEW mart.active_establishments AS
SELECT *
FROM mart.current_establishments
WHERE situacao_cadastral = '02' AND channel IS NOT NULL;

CREATE VIEW mart.establishments_by_channel AS
SELECT channel, uf, ibge_code, city, neighbourhood, COUNT(*) AS establishments
FROM mart.active_establishments
GROUP BY channel, uf, ibge_code, city, neighbourhood;

-- Sales located through the registry (any status: a customer may have closed since).
CREATE VIEW mart.located_sales AS
SELECT
    s.id,
    s.cnpj_hash,
    c.name AS category,
    s.sale_date,
    CAST(DATE_TRUNC('month', s.sale_date) AS DATE) AS sale_month,
    s.value,
    s.amount,
    e.uf,
    e.ibge_code,
    e.city,
    e.neighbourhood
FROM core.sales AS s
LEFT JOIN core.categories AS c ON c.id = s.id_category
LEFT JOIN mart.current_establishments AS e ON e.cnpj_hash = s.cnpj_hash;

CREATE VIEW mart.sales_by_category_month_uf AS
SELECT
    category,
    sale_month,
    uf,
    COUNT(*) AS sales,
    SUM(amount) AS quantity,
    SUM(value) AS sales_value
FROM mart.located_sales
GROUP BY category, sale_month, uf;

CREATE VIEW mart.sales_by_neighbourhood AS
SELECT
    uf,
    ibge_code,
    city,
    neighbourhood,
    COUNT(*) AS sales,
    SUM(amount) AS quantity,
    SUM(value) AS sales_value,
    COUNT(DISTINCT cnpj_hash) AS customers
FROM mart.located_sales
GROUP BY uf, ibge_code, city, neighbourhood;

-- Active channel establishments, flagged when the partner already sells to them.
CREATE VIEW mart.customer_status AS
SELECT
    a.cnpj_hash,
    a.nome_fantasia,
    a.channel,
    a.uf,
    a.ibge_code,
    a.city,
    a.neighbourhood,
    CASE WHEN p.cnpj_hash IS NULL THEN FALSE ELSE TRUE END AS is_customer
FROM mart.active_establishments AS a
LEFT JOIN (SELECT DISTINCT cnpj_hash FROM core.partner_establishments) AS p
    ON p.cnpj_hash = a.cnpj_hash;

CREATE VIEW mart.customers_vs_prospects AS
SELECT
    channel,
    uf,
    ibge_code,
    city,
    COUNT(*) AS establishments,
    SUM(CASE WHEN is_customer THEN 1 ELSE 0 END) AS customers,
    SUM(CASE WHEN is_customer THEN 0 ELSE 1 END) AS prospects
FROM mart.customer_status
GROUP BY channel, uf, ibge_code, city;

-- POF: mean monthly spending per family per UF and partner category, and the UF's total
-- (the mean times the expanded number of families).
CREATE VIEW mart.food_spending_by_uf_category AS
SELECT
    uf_code,
    uf,
    category,
    monthly_spending_per_family_brl,
    monthly_spending_per_family_brl * families_weighted AS expanded_monthly_spending,
    records
FROM core.pof_food_spending;

-- One row per municipality of the IBGE<->Receita crosswalk: population, its state's
-- latest IPM-NM and share of poor persons, monthly spending per family on the partner's
-- categories (POF), and active outlets.
CREATE VIEW mart.regional_indicators AS
WITH pof_uf AS (
    SELECT uf_code, SUM(monthly_spending_per_family_brl) AS monthly_food_spending_per_family
    FROM core.pof_food_spending
    GROUP BY uf_code
),
ipm AS (
    SELECT uf_code, period, ipm_nm, poor_share
    FROM core.poverty_index
    WHERE period = (SELECT MAX(period) FROM core.poverty_index)
),
outlets AS (
    SELECT ibge_code, COUNT(*) AS active_establishments
    FROM mart.active_establishments
    GROUP BY ibge_code
)
SELECT
    x.ibge_code,
    x.tom_code,
    x.name AS city,
    x.uf,
    p.population,
    ipm.period AS ipm_period,
    ipm.ipm_nm,
    ipm.poor_share,
    pof_uf.monthly_food_spending_per_family,
    COALESCE(outlets.active_establishments, 0) AS active_establishments
FROM core.municipality_crosswalk AS x
LEFT JOIN core.population AS p ON p.ibge_code = x.ibge_code
LEFT JOIN ipm ON ipm.uf_code = SUBSTRING(x.ibge_code, 1, 2)
LEFT JOIN pof_uf ON pof_uf.uf_code = SUBSTRING(x.ibge_code, 1, 2)
LEFT JOIN outlets ON outlets.ibge_code = x.ibge_code;
