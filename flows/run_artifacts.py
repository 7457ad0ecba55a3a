"""A flow run's summary, logged and published as Prefect table artifacts.

The summary itself (:class:`flows.runs.RunSummary`) is a plain contract the libraries
build; only this module, in the flows layer, talks to Prefect about it.
"""

from __future__ import annotations

import logging

from flows.runs import RunSummary, table_rows

log = logging.getLogger("flows.runs")


def publish_run(summary: RunSummary) -> None:
    """Log the summary and, inside a Prefect run, publish it as table artifacts."""
    from prefect import get_run_logger
    from prefect.artifacts import create_table_artifact
    from prefect.exceptions import MissingContextError

    try:
        logger: logging.Logger | logging.LoggerAdapter = get_run_logger()
    except MissingContextError:
        logger = log
    logger.info("%s: %s", summary.flow, summary.line)
    if summary.scrub is not None:
        summary.scrub.log(logger)
    try:
        create_table_artifact(
            key=summary.artifact_key,
            table=table_rows(summary.rows) or [{"summary": summary.line}],
            description=summary.description or f"{summary.flow}: {summary.line}",
        )
        if summary.scrub is not None:
            create_table_artifact(
                key=f"{summary.artifact_key}-scrub",
                table=summary.scrub.to_rows() or [{"summary": "nothing scrubbed"}],
                description="Personal-data scrub: counts of values removed or transformed "
                "per dataset, column, detector and action (never the values).",
            )
    except MissingContextError:  # called outside a run (a plain function call in a test)
        pass
