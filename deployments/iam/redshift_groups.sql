-- Big D warehouse roles (Redshift SQL). Run once per cluster, as a superuser, before
-- redshift_grants.sql. Users join a group with: ALTER GROUP bigd_analyst ADD USER alice;
-- bigd_pipeline: the loader and the analysis flows (write everything).
-- bigd_analyst:  data analysts (read core and mart; never staging).
-- bigd_marketing: marketing and sales (read the report-facing mart views only).
CREATE GROUP bigd_pipeline;
CREATE GROUP bigd_analyst;
CREATE GROUP bigd_marketing;
