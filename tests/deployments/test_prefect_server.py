"""prefect.yaml on a real Prefect server: deploy everything with ``python -m flows deploy``
from a clean copy of the repo, read every deployment back through the API, run the
``pipeline`` deployment with a process worker on its defaults (embedded local services:
folder lake, DuckDB; the sources are a generated sample served over HTTP: every stage,
the analysis and its delivery included, as sub-flows that fire no trigger), then follow the
trigger chain prefect.yaml declares (load deployment -> analysis -> delivery, each started
once per completed run; the delivery run for real) and the ingestion -> load trigger."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from flows.deploy import prefect_command
from flows.retry import retrying

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).parents[2]
RELEASE = "2026-11"
CONFIG = yaml.safe_load((ROOT / "prefect.yaml").read_text())
POOL = CONFIG["definitions"]["work_pools"]["process"]["name"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_checkout(target: Path) -> Path:
    """The repo's tracked files (and this branch's uncommitted ones), as a worker's checkout
    would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in listed:
        if (ROOT / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, target / path)
    return target


@pytest.fixture(scope="module")
def prefect_server():
    """``prefect server start`` on a free port with its own PREFECT_HOME (healthy after
    15-40 s); yields a function that waits for it and returns the env of every Prefect
    command of the test."""
    home = Path(tempfile.mkdtemp(prefix="bigd-prefect-home-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BIGD_"))}
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_ENABLED": "true",
    }
    log = (home / "server.log").open("w")
    address = ["--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*prefect_command(), "server", "start", "--analytics-off", *address],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"

    def wait_healthy() -> dict[str, str]:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    return env | {"PREFECT_API_URL": api}
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((home / "server.log").read_text()[-3000:])
            time.sleep(1)

    try:
        yield wait_healthy  # the test prepares its sources while the server starts
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A generated release: the CNPJ zips under a Receita-like listing of ``YYYY-MM/``
    folders (HTTP), the public CSVs (a folder) and the partner API; yields BIGD_* settings."""
    from flows.sample import generate_release
    from flows.sample.partner_api import PartnerApiServer

    work = tmp_path_factory.mktemp("sources")
    sample = work / "sample"
    # Below ~1,500 establishments the sample makes every channel establishment a customer
    # (it keeps at least 250 customers), leaving the analysis no prospect to score.
    generate_release(sample, establishments=2_500, seed=7, progress=False)
    site = work / "site"
    site.mkdir()
    shutil.copytree(sample / "cnpj", site / RELEASE)
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    SimpleHTTPRequestHandler.log_message = lambda *args: None
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    key = secrets.token_urlsafe(16)
    with PartnerApiServer(sample, key=key) as partner:
        yield {
            "BIGD_DATA_DIR": str(work / "data"),
            "BIGD_CNPJ_BASE_URL": f"http://127.0.0.1:{http.server_address[1]}/",
            "BIGD_PUBLIC_SOURCE": str(sample),
            "BIGD_PARTNER_API_URL": partner.url,
            "BIGD_PARTNER_API_KEY": key,
        }
    http.shutdown()


@pytest.fixture(scope="module")
def deployed(prefect_server, sources, tmp_path_factory):
    """``python -m flows deploy`` run from a clean checkout; yields (env, checkout, output)."""
    checkout = _clean_checkout(tmp_path_factory.mktemp("checkout"))
    env = prefect_server() | sources
    result = subprocess.run(
        [sys.executable, "-m", "flows", "deploy"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sources["BIGD_PARTNER_API_KEY"] not in result.stdout + result.stderr
    return env, checkout, result.stdout + result.stderr


def _api(env: dict, method: str, path: str, **body) -> object:
    """One API call, retried like Prefect's own client does on a busy server (a 503 when
    its SQLite database stays locked under load, seen once in CI on 2 cores)."""

    def call() -> object:
        response = httpx.request(method, f"{env['PREFECT_API_URL']}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    return retrying(attempts=5, base_delay=1.0)(call)


def _deployments(env: dict) -> dict[str, dict]:
    """``flow name/deployment name`` -> the deployment as the API returns it."""
    flows = {f["id"]: f["name"] for f in _api(env, "POST", "/flows/filter")}
    return {
        f"{flows[d['flow_id']]}/{d['name']}": d for d in _api(env, "POST", "/deployments/filter")
    }


def _flow_name(deployment: dict) -> str:
    return deployment["entrypoint"].rsplit(":", 1)[1]


def _runs_of(env: dict, deployment_id: str) -> list[dict]:
    """The deployment's runs other than those its schedule has planned ahead."""
    runs = _api(
        env, "POST", "/flow_runs/filter", flow_runs={"deployment_id": {"any_": [deployment_id]}}
    )
    return [run for run in runs if not run["auto_scheduled"]]


def test_every_deployment_reads_back_with_its_schedule_parameters_and_triggers(deployed):
    env, checkout, output = deployed
    assert "bigd-partner-api-key" in output.split("blocks saved:")[1]
    on_server = _deployments(env)
    automations = _api(env, "POST", "/automations/filter")
    for spec in CONFIG["deployments"]:
        key = f"{_flow_name(spec)}/{spec['name']}"
        assert key in on_server, f"{key} missing; server has {sorted(on_server)}"
        deployment = on_server[key]
        assert deployment["work_pool_name"] == POOL
        assert deployment["parameters"] == (spec.get("parameters") or {})
        assert deployment["job_variables"]["env"]["BIGD_HOME"] == str(checkout)
        assert deployment["job_variables"]["env"]["PREFECT_LOGGING_EXTRA_LOGGERS"] == "flows"
        assert deployment["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "60"
        crons = sorted(s["schedule"]["cron"] for s in deployment["schedules"])
        assert crons == sorted(s["cron"] for s in spec.get("schedules") or [])
        assert all(
            s["schedule"]["timezone"] == "America/Sao_Paulo" for s in deployment["schedules"]
        )
        runs_it = [
            a
            for a in automations
            if any(action.get("deployment_id") == deployment["id"] for action in a["actions"])
        ]
        assert len(runs_it) == len(spec.get("triggers") or []), key
        for automation, trigger in zip(runs_it, spec.get("triggers") or [], strict=True):
            assert automation["trigger"]["expect"] == trigger["expect"]
            assert automation["trigger"]["match_related"] == trigger["match_related"]
    # The automation that marks a run whose heartbeats stopped (kill -9) as Crashed.
    from flows.deploy import CRASH_AFTER_SECONDS, CRASH_AUTOMATION

    [crash] = [a for a in automations if a["name"] == CRASH_AUTOMATION]
    assert crash["trigger"]["posture"] == "Proactive"
    assert crash["trigger"]["within"] == CRASH_AFTER_SECONDS
    assert crash["actions"][0]["state"] == "CRASHED"


def test_the_pipeline_runs_on_its_defaults_and_fires_no_triggered_deployment(deployed):
    env, _, _ = deployed
    on_server = _deployments(env)
    (pipeline_key,) = [k for k in on_server if k.startswith("pipeline/")]
    run = subprocess.run(
        [*prefect_command(), "deployment", "run", pipeline_key],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Created flow run" in run.stdout, run.stdout
    worker = subprocess.run(
        [*prefect_command(), "worker", "start", "--pool", POOL, "--run-once"],
        cwd=tempfile.gettempdir(),  # not the checkout: the pull step must find it
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (pipeline_run,) = _runs_of(env, on_server[pipeline_key]["id"])
    assert pipeline_run["state_type"] == "COMPLETED", worker.stdout[-4000:] + worker.stderr[-4000:]

    # Every stage ran as a sub-flow, and the release came from the source's listing.
    flow_names = {f["id"]: f["name"] for f in _api(env, "POST", "/flows/filter")}
    runs = _api(env, "POST", "/flow_runs/filter")
    completed = {flow_names[r["flow_id"]] for r in runs if r["state_type"] == "COMPLETED"}
    assert {"ingest_cnpj", "ingest_public", "ingest_partner", "load_warehouse"} <= completed
    lake = Path(env["BIGD_DATA_DIR"]) / "lake"
    assert (lake / "trusted" / "cnpj" / RELEASE).is_dir()

    # Module loggers (flows.*) reached the run logs (the load's: the API returns 200 at most).
    (load_run,) = [
        r
        for r in runs
        if flow_names[r["flow_id"]] == "load_warehouse" and r["state_type"] == "COMPLETED"
    ]
    logs = _api(
        env,
        "POST",
        "/logs/filter",
        limit=200,
        logs={"level": {"ge_": 20}, "flow_run_id": {"any_": [load_run["id"]]}},
    )
    assert any(
        log["name"].startswith("flows.") and "staging core." in log["message"] for log in logs
    ), sorted({log["name"] for log in logs})

    # The pipeline ran the analysis and the delivery itself, as sub-flows; sub-flows belong
    # to no deployment, so no trigger fired: no second load, analysis or delivery.
    assert {"run_analysis", "deliver_analysis", "render_infographic"} <= completed
    time.sleep(5)  # give the triggers time to (not) fire
    for spec in CONFIG["deployments"]:
        if spec["name"] != spec_of("pipeline")["name"]:
            assert _runs_of(env, on_server[_key(spec)]["id"]) == [], spec["name"]


def spec_of(flow_name: str) -> dict:
    (spec,) = [d for d in CONFIG["deployments"] if _flow_name(d) == flow_name]
    return spec


def _key(spec: dict) -> str:
    return f"{_flow_name(spec)}/{spec['name']}"


def _triggered_by(name: str) -> list[dict]:
    """The deployments prefect.yaml starts when a run of deployment ``name`` completes."""
    return [
        d
        for d in CONFIG["deployments"]
        if any(
            t["match_related"].get("prefect.resource.role") == "deployment"
            and name in t["match_related"]["prefect.resource.name"]
            and t["expect"] == ["prefect.flow-run.Completed"]
            for t in d.get("triggers") or []
        )
    ]


def _wait_for_runs(env: dict, deployment_id: str, count: int, seconds: float = 60) -> list:
    deadline = time.monotonic() + seconds
    while len(_runs_of(env, deployment_id)) < count and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # a second run from a double-firing trigger would show up by now
    return _runs_of(env, deployment_id)


def _complete(env: dict, run_id: str) -> None:
    for state in ("RUNNING", "COMPLETED"):
        _api(env, "POST", f"/flow_runs/{run_id}/set_state", state={"type": state}, force=True)


def test_a_completed_load_deployment_run_fires_the_analysis_then_the_delivery(deployed):
    """The chain prefect.yaml declares, followed from the load deployment: each completed
    run starts each deployment triggered on it exactly once. The intermediate runs are
    completed through the API (the pipeline test ran the load and the analysis for real);
    the last deployment of the chain runs for real with a worker, on its defaults."""
    env, _, _ = deployed
    on_server = _deployments(env)
    load = spec_of("load_warehouse")
    chain = [load]
    while downstream := _triggered_by(chain[-1]["name"]):
        (next_spec,) = downstream
        chain.append(next_spec)
    assert [_flow_name(s) for s in chain] == ["load_warehouse", "run_analysis", "deliver_analysis"]

    run = _api(env, "POST", f"/deployments/{on_server[_key(load)]['id']}/create_flow_run")
    for upstream, spec in itertools.pairwise(chain):
        _complete(env, run["id"])
        runs = _wait_for_runs(env, on_server[_key(spec)]["id"], 1)
        assert len(runs) == 1, f"{spec['name']} after {upstream['name']}: {len(runs)} runs"
        (run,) = runs
    last = on_server[_key(chain[-1])]
    worker = subprocess.run(
        [*prefect_command(), "worker", "start", "--pool", POOL, "--run-once"],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    (delivered,) = _runs_of(env, last["id"])
    assert delivered["state_type"] == "COMPLETED", worker.stdout[-4000:] + worker.stderr[-4000:]
    # Nothing fired twice along the chain.
    for spec in chain[1:]:
        assert len(_runs_of(env, on_server[_key(spec)]["id"])) == 1, spec["name"]


def test_a_completed_ingestion_deployment_run_triggers_the_load(deployed):
    """The load's trigger matches the ingestion *deployments* by name: a completed run of
    each (its state set through the API, no worker needed) starts one load run."""
    env, _, _ = deployed
    on_server = _deployments(env)
    (load_key,) = [k for k in on_server if k.startswith("load_warehouse/")]
    load_id = on_server[load_key]["id"]
    spec = next(d for d in CONFIG["deployments"] if d["entrypoint"].endswith(":load_warehouse"))
    (trigger,) = spec["triggers"]
    before = len(_runs_of(env, load_id))  # the chain test's load run
    names = trigger["match_related"]["prefect.resource.name"]
    for expected, name in enumerate(names, start=before + 1):
        (key,) = [k for k in on_server if k.endswith(f"/{name}")]
        run = _api(env, "POST", f"/deployments/{on_server[key]['id']}/create_flow_run")
        for state in ("RUNNING", "COMPLETED"):
            _api(
                env,
                "POST",
                f"/flow_runs/{run['id']}/set_state",
                state={"type": state},
                force=True,
            )
        deadline = time.monotonic() + 60
        while len(_runs_of(env, load_id)) < expected and time.monotonic() < deadline:
            time.sleep(1)
        assert len(_runs_of(env, load_id)) == expected, name
