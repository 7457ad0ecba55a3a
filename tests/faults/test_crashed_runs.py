"""Prefect runs killed with -9 stay RUNNING forever unless something notices: the
deployments send heartbeats and ``python -m flows deploy`` creates the automation that
marks a run whose heartbeats stopped as Crashed. Checked on a real Prefect server (the
test harness's), with a 10 s window (Prefect's minimum) instead of the deployments' 180 s."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml

from flows import deploy


def test_the_deployments_send_heartbeats_often_enough_for_the_automation():
    spec = yaml.safe_load((deploy.REPO_ROOT / "prefect.yaml").read_text())
    env = spec["definitions"]["work_pools"]["process"]["job_variables"]["env"]
    frequency = int(env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"])
    assert frequency == deploy.HEARTBEAT_SECONDS >= 30  # Prefect's minimum
    assert 2 * frequency <= deploy.CRASH_AFTER_SECONDS  # one late heartbeat is not a crash


@pytest.mark.integration
def test_a_run_whose_heartbeats_stop_is_marked_crashed(prefect_harness):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events import emit_event
    from prefect.states import Running

    deploy.ensure_crash_automation(within_seconds=10)
    again = deploy.ensure_crash_automation(within_seconds=10)  # re-deploying replaces it
    assert again.name == deploy.CRASH_AUTOMATION

    @flow(name=f"zombie-{uuid.uuid4().hex[:6]}")
    def zombie() -> None: ...

    with get_client(sync_client=True) as client:
        automations = client.read_automations_by_name(deploy.CRASH_AUTOMATION)
        assert len(automations) == 1
        finished = client.create_flow_run(zombie)
        killed = client.create_flow_run(zombie)
        for run in (finished, killed):
            client.set_flow_run_state(run.id, Running(), force=True)
            emit_event(  # what the engine sends every PREFECT_FLOWS_HEARTBEAT_FREQUENCY
                event="prefect.flow-run.heartbeat",
                resource={"prefect.resource.id": f"prefect.flow-run.{run.id}"},
            )
        # `finished` keeps beating; `killed` is killed -9 and sends nothing more.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            emit_event(
                event="prefect.flow-run.heartbeat",
                resource={"prefect.resource.id": f"prefect.flow-run.{finished.id}"},
            )
            state = client.read_flow_run(killed.id).state
            if state.type == StateType.CRASHED:
                break
            time.sleep(1)
        assert state.type == StateType.CRASHED, state
        assert "no heartbeat" in (state.message or "")
        assert client.read_flow_run(finished.id).state.type == StateType.RUNNING
