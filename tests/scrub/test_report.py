"""The scrub report: counts that merge and never hold a value; published with the run."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest

from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.scrub import ScrubReport, scrub_table

KEY = b"report-test-key"


def _categories(names: list[str]) -> pa.Table:
    return pa.table({"id": pa.array(range(len(names)), pa.int64()), "name": names})


def test_report_counts_merge_and_never_hold_values():
    table = _categories(["Cerveja joao@x.com", "Vinho"])
    _, first = scrub_table("partner.categories", table, KEY)
    _, second = scrub_table("partner.categories", table, KEY)
    merged = first.merge(second)
    assert merged.count(column="name", detector="email") == 2
    assert first.count(column="name", detector="email") == 1  # merge does not mutate
    assert merged.rows["partner.categories"] == 4
    rows = merged.to_rows()
    assert {"dataset", "column", "detector", "action", "count"} <= set(rows[0])
    assert "joao" not in json.dumps(rows)
    assert ScrubReport.empty().to_rows() == []


def test_the_scrub_package_does_not_import_prefect():
    """Scrubbing is pure Arrow: the flows publish its report, the package never starts Prefect."""
    subprocess.run(
        [sys.executable, "-c", "import flows.scrub, sys; assert 'prefect' not in sys.modules"],
        check=True,
    )


@pytest.mark.integration
def test_a_published_run_carries_its_scrub_counts_never_the_values(prefect_harness):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    _, report = scrub_table("partner.categories", _categories(["a@b.com"]), KEY)

    @flow
    def publishing() -> None:
        publish_run(RunSummary(flow="Scrub partner.categories", line="1 row", scrub=report))

    publishing()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["scrub-partner-categories-scrub"])
            )
        )
    assert artifacts and artifacts[0].type == "table"
    data = (
        artifacts[0].data if isinstance(artifacts[0].data, str) else json.dumps(artifacts[0].data)
    )
    assert "a@b.com" not in data
    assert '"detector": "email"' in data
