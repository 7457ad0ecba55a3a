"""``python -m flows deploy`` without a server: what it would create and run."""

from __future__ import annotations

import subprocess

import pytest

from flows import deploy


class FakeRunner:
    """Records commands; ``work-pool inspect`` answers ``pool_exists``."""

    def __init__(self, pool_exists: bool, deploy_rc: int = 0):
        self.pool_exists, self.deploy_rc, self.calls = pool_exists, deploy_rc, []

    def __call__(self, command, **kwargs):
        self.calls.append((command, kwargs))
        if "inspect" in command:
            rc = 0 if self.pool_exists else 1
        elif "deploy" in command:
            rc = self.deploy_rc
        else:
            rc = 0
        return subprocess.CompletedProcess(command, rc, stdout="deployed", stderr="")


def test_process_pool_points_the_workers_at_this_checkout(tmp_path):
    runner, pools = FakeRunner(pool_exists=False), []

    def ensure_pool(name, pool_type, env, run):
        pools.append((name, pool_type))
        return True

    report = deploy.deploy_all(
        environ={}, root=tmp_path, run=runner, ensure_pool=ensure_pool, ensure_automation=list
    )
    assert report.pool_created and report.blocks == []
    assert pools == [("bigd-process", "process")]
    (call,) = runner.calls
    command, kwargs = call
    assert command[-3:] == ["--no-prompt", "deploy", "--all"]
    assert kwargs["cwd"] == tmp_path and kwargs["env"]["BIGD_HOME"] == str(tmp_path)


def test_a_container_pool_is_created_by_the_cli_once(tmp_path):
    runner = FakeRunner(pool_exists=False)
    assert deploy.ensure_work_pool("bigd-ecs", "ecs", {}, runner)
    assert runner.calls[-1][0][-5:] == ["work-pool", "create", "bigd-ecs", "--type", "ecs"]
    runner = FakeRunner(pool_exists=True)
    assert not deploy.ensure_work_pool("bigd-ecs", "ecs", {}, runner)
    assert not any("create" in command for command, _ in runner.calls)


def test_a_failed_deploy_is_an_error(tmp_path):
    runner = FakeRunner(pool_exists=True, deploy_rc=1)
    with pytest.raises(RuntimeError, match="prefect deploy failed"):
        deploy.deploy_all(
            environ={},
            root=tmp_path,
            run=runner,
            ensure_pool=lambda *a: False,
            ensure_automation=list,
        )


def test_a_container_pool_runs_the_image_code(tmp_path):
    runner = FakeRunner(pool_exists=True)
    deploy.deploy_all(
        pool="bigd-k8s",
        pool_type="kubernetes",
        image="bigd:1",
        environ={},
        run=runner,
        ensure_pool=lambda *a: False,
        ensure_automation=list,
    )
    command, kwargs = runner.calls[-1]
    assert command[-4:] == ["--pool", "bigd-k8s", "--job-variable", "image=bigd:1"]
    assert kwargs["env"]["BIGD_HOME"] == "/opt/bigd"
    with pytest.raises(ValueError, match="needs --image"):
        deploy.deploy_all(pool_type="docker", environ={}, run=runner)
    with pytest.raises(ValueError, match="pool type"):
        deploy.deploy_all(pool_type="nomad", environ={}, run=runner)


def test_blocks_only_for_the_variables_that_are_set():
    assert deploy.blocks_from_environment({}) == []
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t-aws",
        "AWS_DEFAULT_REGION": "sa-east-1",
        "BIGD_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "BIGD_LAKE": "s3://my-lake/bigd",
        "BIGD_PARTNER_API_KEY": "partner-s3cr3t",
        "BIGD_PSEUDONYM_KEY": "pseudonym-s3cr3t",
    }
    blocks = dict(deploy.blocks_from_environment(environ))
    assert list(blocks) == [
        deploy.AWS_BLOCK,
        deploy.LAKE_BLOCK,
        deploy.PARTNER_KEY_BLOCK,
        deploy.PSEUDONYM_KEY_BLOCK,
    ]
    lake = blocks[deploy.LAKE_BLOCK]
    assert (lake.bucket_name, lake.bucket_folder) == ("my-lake", "bigd")
    credentials = blocks[deploy.AWS_BLOCK]
    assert credentials.aws_client_parameters.endpoint_url == "http://127.0.0.1:9000"
    assert blocks[deploy.PARTNER_KEY_BLOCK].get() == "partner-s3cr3t"
    shown = " ".join(repr(block) for block in blocks.values())
    assert not any(secret in shown for secret in ("s3cr3t-aws", "partner-s3cr3t", "pseudonym"))
    report = deploy.DeployReport(pool="p", blocks=list(blocks))
    assert "s3cr3t" not in report.describe()
