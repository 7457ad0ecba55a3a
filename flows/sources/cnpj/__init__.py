"""CNPJ open data of the Receita Federal: layouts, download, streaming parse, quarantine.

``release.run_release`` is the whole job as one plain function; ``flows.cnpj_flow`` wraps
it in Prefect tasks, one per file.
"""
