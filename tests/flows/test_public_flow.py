"""The ``ingest_public`` flow and its CLI command, run for real on a Prefect test server."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import get_settings
from flows.lake import Lake
from flows.sources.public import trusted_key
from tests import public_samples as samples

runner = CliRunner()


def _lake() -> Lake:
    return Lake.from_url(get_settings().lake_root)


def test_cli_unknown_dataset_is_a_clear_error(tmp_path):
    result = runner.invoke(
        app, ["ingest", "public", "--dataset", "beer", "--source", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "unknown dataset 'beer'" in result.output
    assert "population_municipalities" in result.output


def test_cli_without_source_says_what_is_missing():
    result = runner.invoke(app, ["ingest", "public", "--dataset", "ipm_nm_uf"])
    assert result.exit_code == 2
    assert "needs --source" in result.output


def test_cli_location_needs_the_dataset_it_replaces(tmp_path):
    result = runner.invoke(app, ["ingest", "public", "--location", str(tmp_path / "x.xls")])
    assert result.exit_code == 2
    assert "name it with --dataset" in result.output


def test_run_summary_reads_as_one_line_and_merges_the_scrub_counts():
    from flows.scrub import ScrubReport
    from flows.sources.public.outcome import DatasetOutcome, run_summary

    scrubbed = ScrubReport.empty()
    scrubbed.add("public.a", "name", "email", "mask", 2)
    summary = run_summary(
        [
            DatasetOutcome(
                "a", rows=1200, trusted_key="trusted/public/a/data.parquet", scrub=scrubbed
            ),
            DatasetOutcome("b", status="failed", message="column X is missing"),
        ]
    )
    assert summary.line == "public: ok a (1,200 rows); failed b"
    assert str(summary) == summary.line
    assert summary.totals == {"datasets": 2, "rows": 1200, "failed": 1}
    assert [row["status"] for row in summary.rows] == ["ok", "failed"]
    assert summary.rows[1]["message"] == "column X is missing"
    assert summary.scrub.count(detector="email") == 2
    assert summary.artifact_key == "ingest-public"


@pytest.mark.integration
def test_flow_ingests_every_dataset_and_publishes_a_summary(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from flows.public_flow import ingest_public

    release = samples.write_public_release(tmp_path / "release")

    state = ingest_public(source=str(release), catalog=str(samples.CSV_CATALOG), return_state=True)
    summary = state.result()

    assert [(row["dataset"], row["rows"], row["status"]) for row in summary.rows] == [
        (name, len(rows), "ok") for name, (_, _, rows, _) in samples.FILES.items()
    ]
    assert summary.totals["failed"] == 0 and "failed" not in summary.line
    lake = _lake()
    for name in samples.FILES:
        assert pq.read_table(lake.path(trusted_key(name))).num_rows > 0
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["ingest-public"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            ),
        )
    assert len(artifacts) == 1, "the run summary artifact was not published"
    assert json.loads(artifacts[0].data) == summary.rows


@pytest.mark.integration
def test_cli_run_fails_only_the_broken_dataset_and_exits_non_zero(prefect_harness, tmp_path):
    release = samples.write_public_release(tmp_path / "release")
    header = samples.POF_HEADER.removesuffix(";RENDA_TOTAL")
    samples.rewrite(
        release, "pof_food_spending", header, [r.rsplit(";", 1)[0] for r in samples.POF_ROWS]
    )

    result = runner.invoke(
        app,
        ["ingest", "public", "--source", str(release), "--catalog", str(samples.CSV_CATALOG)],
    )

    assert result.exit_code == 1
    assert "1 of 3 public datasets failed" in result.output
    assert "required column 'RENDA_TOTAL' is missing" in result.output
    lake = _lake()
    assert not lake.exists(trusted_key("pof_food_spending"))
    assert pq.read_table(lake.path(trusted_key("ipm_nm_uf"))).num_rows == 4
    assert pq.read_table(lake.path(trusted_key("population_municipalities"))).num_rows == 5


@pytest.mark.integration
def test_a_drifted_ibge_file_fails_only_its_dataset(prefect_harness, tmp_path):
    import zipfile

    from flows.public_flow import PublicIngestError, ingest_public
    from flows.sample import generate_release

    release = tmp_path / "release"
    generate_release(release, establishments=200, seed=5, progress=False)
    # Cut the third record of MORADOR_QUALI_VIDA short; the other members stay intact.
    path = release / "public" / "Dados_20230713.zip"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    lines = members["MORADOR_QUALI_VIDA.txt"].split(b"\r\n")
    lines[2] = lines[2][:-5]
    members["MORADOR_QUALI_VIDA.txt"] = b"\r\n".join(lines)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    with pytest.raises(PublicIngestError) as caught:
        ingest_public(source=str(release))

    message = str(caught.value)
    assert "1 of 3 public datasets failed" in message
    assert "ipm_nm_uf" in message
    assert (
        "Dados_20230713.zip:MORADOR_QUALI_VIDA.txt: line 3 has 184 characters, expected 189"
        in message
    )
    lake = _lake()
    assert not lake.exists(trusted_key("ipm_nm_uf"))
    assert pq.read_table(lake.path(trusted_key("pof_food_spending"))).num_rows > 0
    assert pq.read_table(lake.path(trusted_key("population_municipalities"))).num_rows > 0


@pytest.mark.integration
def test_cli_reads_another_years_estimates_from_location(prefect_harness):
    from tests.sources.public.ibge_files import real_ibge_file

    path = real_ibge_file("estimativa_dou_2020.xls")
    result = runner.invoke(
        app,
        ["ingest", "public", "--dataset", "population_municipalities", "--location", str(path)],
    )

    assert result.exit_code == 0, result.output
    table = pq.read_table(_lake().path(trusted_key("population_municipalities")))
    assert table.num_rows == 5_570
    assert set(table.column("reference_year").to_pylist()) == {2020}
