"""CNPJ open data of the Receita Federal: layouts, download, streaming parse, quarantine.

``release.run_release`` is the whole job, the one sequence tests and the flow share;
``flows.cnpj_flow`` only supplies its parallel map (Prefect tasks, one per file).
"""
