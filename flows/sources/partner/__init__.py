"""The partner's sales API: client, record validation, ingestion, and its table map.

``client`` talks to the API (retries, the secret key kept out of every log line);
``records`` validates each record and types the valid ones as Arrow; ``ingest`` keeps
the raw body, quarantines, scrubs and writes the trusted zone and moves the watermark;
``tables`` is the one place the partner's table names are spelled. ``flows.partner_flow``
wraps the ingestion in Prefect tasks.
"""
