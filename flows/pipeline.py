"""The parent flow: every source into the lake, scrubbed, into the warehouse, then analysed.

It reads like the diagram in the README; each step is a sub-flow that is also a
deployment of its own (monthly CNPJ, daily partner, catalog refresh).
"""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows.analysis_flow import run_analysis
from flows.cnpj_flow import ingest_cnpj
from flows.load_flow import load_warehouse
from flows.partner_flow import ingest_partner
from flows.public_flow import ingest_public
from flows.report_flow import deliver_analysis


@flow(name="pipeline", log_prints=True)
def pipeline(
    release: str | None = None,
    cnpj_source: str | None = None,
    public_source: str | None = None,
    partner_since: dt.date | None = None,
    partner_until: dt.date | None = None,
) -> dict[str, object]:
    """Ingest the CNPJ release (default: the latest published), the public catalog and the
    partner's new days, load, run the ensemble analysis on what was loaded, then deliver
    its results (Kafka or the outbox) and the reports."""
    cnpj = ingest_cnpj(release=release, source=cnpj_source)
    release = cnpj.subject
    public = ingest_public(source=public_source)
    partner = ingest_partner(since=partner_since, until=partner_until)
    warehouse = load_warehouse(release=release)
    analysis = run_analysis(release=release)
    delivery = deliver_analysis(analysis_dir=analysis.analysis.outputs)
    return {
        "cnpj": cnpj,
        "public": public,
        "partner": partner,
        "warehouse": warehouse,
        "analysis": analysis,
        "delivery": delivery,
    }
