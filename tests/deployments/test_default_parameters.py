"""Every deployment in prefect.yaml runs with its defaults: the CNPJ release defaults to
the latest one the source lists; the deployments' shapes follow the documented cadence."""

from __future__ import annotations

import importlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prefect import Flow

from flows.sources.cnpj.download import DownloadError, latest_release, releases_in_listing

ROOT = Path(__file__).parents[2]
# The Receita's listing, as its Apache index serves it (trimmed).
RECEITA_LISTING = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /dados/cnpj/dados_abertos_cnpj</title></head><body>
<h1>Index of /dados/cnpj/dados_abertos_cnpj</h1><table>
<tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/dados/cnpj/">Parent Directory</a></td></tr>
<tr><td><a href="2025-12/">2025-12/</a></td><td>2025-12-14 11:02</td></tr>
<tr><td><a href="2026-10/">2026-10/</a></td><td>2026-10-12 10:31</td></tr>
<tr><td><a href="/dados/cnpj/dados_abertos_cnpj/2026-11/">2026-11/</a></td></tr>
<tr><td><a href="2026-13/">2026-13/</a></td></tr>
<tr><td><a href="LAYOUT_DADOS_ABERTOS_CNPJ.pdf">LAYOUT_DADOS_ABERTOS_CNPJ.pdf</a></td></tr>
<tr><td><a href="temp/">temp/</a></td></tr>
</table></body></html>
"""


def deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_releases_in_the_receita_listing():
    assert releases_in_listing(RECEITA_LISTING) == ["2025-12", "2026-10", "2026-11"]
    assert releases_in_listing("<a href='x.zip'>x</a>") == []


@pytest.fixture
def listing_server(tmp_path):
    """A local web server whose index lists release folders, like the Receita's site."""
    folder = tmp_path / "site" / "dados" / "cnpj" / "dados_abertos_cnpj"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(RECEITA_LISTING)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    )
    SimpleHTTPRequestHandler.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dados/cnpj/dados_abertos_cnpj/"
    server.shutdown()


@pytest.mark.integration
def test_latest_release_from_a_web_listing(listing_server):
    assert latest_release(listing_server) == "2026-11"


@pytest.mark.integration
def test_latest_release_from_an_empty_listing_is_an_error(tmp_path, listing_server):
    index = tmp_path / "site" / "dados" / "cnpj" / "dados_abertos_cnpj" / "index.html"
    index.write_text("<html><a href='LAYOUT.pdf'>x</a></html>")
    with pytest.raises(DownloadError, match="no YYYY-MM release"):
        latest_release(listing_server)


def test_latest_release_from_a_folder(tmp_path):
    for name in ("2026-09", "2026-11", "2026-10", "notes", "2026-99"):
        (tmp_path / name).mkdir()
    assert latest_release(str(tmp_path)) == "2026-11"
    with pytest.raises(DownloadError):
        latest_release(str(tmp_path / "notes"))


def entrypoint_flow(entrypoint: str) -> Flow:
    path, _, name = entrypoint.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert isinstance(flow, Flow), entrypoint
    return flow


@pytest.mark.parametrize("deployment", deployments(), ids=lambda d: d["name"])
def test_every_deployed_flow_runs_with_its_defaults(deployment):
    flow = entrypoint_flow(deployment["entrypoint"])
    schema = flow.parameters
    given = set(deployment.get("parameters") or {})
    assert given <= set(schema.properties), deployment["name"]
    assert set(schema.required or []) <= given, f"{deployment['name']}: required parameters"


def test_cadence_follows_the_sources():
    by_flow = {d["entrypoint"].rsplit(":", 1)[1]: d for d in deployments()}
    crons = {name: [s["cron"] for s in d.get("schedules") or []] for name, d in by_flow.items()}
    assert crons["ingest_cnpj"] == ["0 6 20 * *"]  # monthly
    assert crons["ingest_public"] == ["0 7 1 * *"]  # monthly
    assert crons["ingest_partner"] == ["30 5 * * *"]  # daily
    assert crons["purge"] == ["0 3 * * *"]  # daily
    assert crons["load_warehouse"] == ["0 6 * * 1"]  # weekly
    assert crons["pipeline"] == []  # on demand
    assert crons["render_infographic"] == [] and not by_flow["render_infographic"].get(
        "triggers"
    ), "the infographic alone is on demand: deliver_analysis renders it after each analysis"
    # The chain load -> analysis -> delivery, by deployment triggers only (no schedule, so
    # nothing runs twice): each matches the completed runs of the deployment before it.
    for name, upstream in (
        ("run_analysis", "load_warehouse"),
        ("deliver_analysis", "run_analysis"),
    ):
        assert crons[name] == [], f"{name} runs after {upstream}, so it has no schedule"
        (trigger,) = by_flow[name]["triggers"]
        assert trigger["expect"] == ["prefect.flow-run.Completed"]
        assert trigger["match_related"] == {
            "prefect.resource.role": "deployment",
            "prefect.resource.name": [by_flow[upstream]["name"]],
        }
    (after_ingestion,) = by_flow["load_warehouse"]["triggers"]
    names = after_ingestion["match_related"]["prefect.resource.name"]
    assert set(names) == {by_flow["ingest_cnpj"]["name"], by_flow["ingest_public"]["name"]}


def test_one_definition_per_pool_schedule_and_trigger():
    """Pools, schedules and triggers are written once under definitions: (YAML anchors)."""
    text = (ROOT / "prefect.yaml").read_text()
    assert text.count("name: bigd-process") == 1
    assert text.count("cron:") == len(yaml.safe_load(text)["definitions"]["schedules"])
    assert text.count("prefect.flow-run.Completed") == len(
        yaml.safe_load(text)["definitions"]["triggers"]
    )
    for deployment in deployments():
        assert deployment["work_pool"]["name"] == "bigd-process"
        env = deployment["work_pool"]["job_variables"]["env"]
        assert env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "flows"
        assert env["BIGD_HOME"] == "{{ $BIGD_HOME }}"
