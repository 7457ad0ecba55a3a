"""``python -m flows deploy``: the work pool, the Prefect blocks, then every deployment.

One command against the server in ``PREFECT_API_URL`` (or the active Prefect profile):

1. the work pool of ``prefect.yaml`` (created if missing; an existing one is left as it is,
   with any base-job-template changes made in the UI);
2. blocks from the environment, each only when its variables are set (never printed):
   ``AwsCredentials`` ``bigd-aws`` (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_DEFAULT_REGION``, ``BIGD_S3_ENDPOINT_URL``), ``S3Bucket`` ``bigd-lake``
   (``BIGD_LAKE=s3://bucket/prefix``), ``Secret`` ``bigd-partner-api-key``
   (``BIGD_PARTNER_API_KEY``) and ``Secret`` ``bigd-pseudonym-key`` (``BIGD_PSEUDONYM_KEY``);
3. ``prefect --no-prompt deploy --all`` from the repo root, with ``BIGD_HOME`` set to the
   folder the workers run the code from: this checkout for a process pool, ``/opt/bigd``
   (the image) for a container pool;
4. the automation that marks a flow run Crashed when its heartbeats stop (a run killed
   with ``-9`` otherwise stays Running forever). The deployments' runs send a heartbeat
   every ``HEARTBEAT_SECONDS`` (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` in prefect.yaml);
   a run that sent one and then nothing, and did not finish, within
   ``CRASH_AFTER_SECONDS`` is set Crashed (Prefect's "zombie flow" recipe).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.resources import AWS_BLOCK, LAKE_BLOCK, PARTNER_KEY_BLOCK, PSEUDONYM_KEY_BLOCK

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_HOME = "/opt/bigd"
POOL_TYPES = ("process", "docker", "kubernetes", "ecs")
HEARTBEAT_SECONDS = 60  # prefect.yaml: PREFECT_FLOWS_HEARTBEAT_FREQUENCY (Prefect's minimum: 30)
CRASH_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS  # two missed heartbeats and some slack
CRASH_AUTOMATION = "bigd: flow runs without a heartbeat are Crashed"

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass
class DeployReport:
    """What the command did (names only: never a secret's value)."""

    pool: str
    pool_created: bool = False
    blocks: list[str] = field(default_factory=list)
    deploy_output: str = ""

    def describe(self) -> str:
        created = "created" if self.pool_created else "already there"
        blocks = ", ".join(self.blocks) or "none (no variables set)"
        return f"work pool {self.pool}: {created}; blocks saved: {blocks}"


def prefect_command() -> list[str]:
    """The ``prefect`` CLI of this interpreter's environment."""
    found = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which(
        "prefect"
    )
    return [found] if found else [sys.executable, "-m", "prefect"]


def deploy_environment(
    environ: Mapping[str, str], pool_type: str, root: Path = REPO_ROOT
) -> dict[str, str]:
    """The environment ``prefect deploy`` runs in: ``BIGD_HOME`` is where the workers find
    the code (prefect.yaml bakes it into the process pool's job variables)."""
    env = dict(environ)
    if pool_type == "process":
        env.setdefault("BIGD_HOME", str(root))
    else:
        env["BIGD_HOME"] = IMAGE_HOME
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return env


def blocks_from_environment(environ: Mapping[str, str]) -> list[tuple[str, Any]]:
    """The blocks whose variables are set, ready to save (names fixed, values secret)."""
    from prefect.blocks.system import Secret

    blocks: list[tuple[str, Any]] = []
    credentials = None
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        from prefect_aws import AwsClientParameters, AwsCredentials

        endpoint = environ.get("BIGD_S3_ENDPOINT_URL")
        credentials = AwsCredentials(
            aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
            region_name=environ.get("AWS_DEFAULT_REGION"),
            aws_client_parameters=AwsClientParameters(endpoint_url=endpoint or None),
        )
        blocks.append((AWS_BLOCK, credentials))
    lake = environ.get("BIGD_LAKE", "")
    if lake.startswith("s3://"):
        from prefect_aws import AwsCredentials
        from prefect_aws.s3 import S3Bucket

        bucket, _, folder = lake.removeprefix("s3://").partition("/")
        blocks.append(
            (
                LAKE_BLOCK,
                S3Bucket(
                    bucket_name=bucket,
                    bucket_folder=folder.strip("/"),
                    credentials=credentials or AwsCredentials(),
                ),
            )
        )
    for variable, name in (
        ("BIGD_PARTNER_API_KEY", PARTNER_KEY_BLOCK),
        ("BIGD_PSEUDONYM_KEY", PSEUDONYM_KEY_BLOCK),
    ):
        if environ.get(variable):
            blocks.append((name, Secret(value=environ[variable])))
    return blocks


def ensure_work_pool(name: str, pool_type: str, env: Mapping[str, str], run: Runner) -> bool:
    """Create the pool unless it exists; ``True`` when created. A process pool goes through
    the API client here (each ``prefect`` CLI call costs a Prefect import); a container
    pool through the CLI, which finds its worker type's default job template."""
    if pool_type == "process":
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import WorkPoolCreate
        from prefect.exceptions import ObjectNotFound
        from prefect.workers.process import ProcessWorker

        with get_client(sync_client=True) as client:
            try:
                client.read_work_pool(name)
                return False
            except ObjectNotFound:
                template = ProcessWorker.get_default_base_job_template()
                client.create_work_pool(
                    WorkPoolCreate(name=name, type="process", base_job_template=template)
                )
                return True
    inspect = run(
        [*prefect_command(), "work-pool", "inspect", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if inspect.returncode == 0:
        return False
    run(
        [*prefect_command(), "work-pool", "create", name, "--type", pool_type],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return True


def deploy_command(pool: str, image: str | None) -> list[str]:
    """``prefect deploy --all``, moved to another pool (and image) when asked."""
    command = [*prefect_command(), "--no-prompt", "deploy", "--all"]
    if pool != "bigd-process":
        command += ["--pool", pool]
    if image:
        command += ["--job-variable", f"image={image}"]
    return command


def deploy_all(
    pool: str = "bigd-process",
    pool_type: str = "process",
    image: str | None = None,
    environ: Mapping[str, str] | None = None,
    root: Path = REPO_ROOT,
    run: Runner = subprocess.run,
    ensure_pool: Callable[[str, str, Mapping[str, str], Runner], bool] = ensure_work_pool,
    ensure_automation: Callable[[], Any] | None = None,
) -> DeployReport:
    """Pool, blocks, deployments (see the module docstring)."""
    if pool_type not in POOL_TYPES:
        raise ValueError(f"pool type {pool_type!r}: use one of {', '.join(POOL_TYPES)}")
    if (pool_type == "process") == bool(image):
        raise ValueError("a container pool needs --image (the Dockerfile's); a process pool none")
    env = deploy_environment(os.environ if environ is None else environ, pool_type, root)
    report = DeployReport(pool=pool)
    report.pool_created = ensure_pool(pool, pool_type, env, run)
    for name, block in blocks_from_environment(env):
        block.save(name, overwrite=True)
        report.blocks.append(name)
    result = run(
        deploy_command(pool, image), cwd=root, env=env, capture_output=True, text=True, check=False
    )
    report.deploy_output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"prefect deploy failed:\n{report.deploy_output[-4000:]}")
    (ensure_automation or ensure_crash_automation)()
    return report


def crash_automation(within_seconds: float = CRASH_AFTER_SECONDS) -> Any:
    """Prefect's zombie-flow automation: for each flow run that sent a heartbeat, expect
    another heartbeat or a final state within ``within_seconds``; else set it Crashed."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    final = ("Completed", "Failed", "Cancelled", "Crashed")
    return Automation(
        name=CRASH_AUTOMATION,
        description="A run killed with -9 (or whose machine died) stops sending heartbeats: "
        "mark it Crashed instead of leaving it Running forever.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in final)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_seconds),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {within_seconds:g} s: the run's process is gone",
            )
        ],
    )


def ensure_crash_automation(within_seconds: float = CRASH_AFTER_SECONDS) -> Any:
    """Create the crash automation on the current server, replacing one of that name."""
    from prefect.automations import Automation

    with suppress(ValueError):  # not there yet
        existing: Any = Automation.read(name=CRASH_AUTOMATION)  # sync in a sync caller
        existing.delete()
    return crash_automation(within_seconds).create()
