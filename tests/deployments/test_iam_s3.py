"""The repo's S3 policies, attached to one IAM user per role on a moto S3 server that
enforces IAM, allow and deny exactly what the lake's access matrix says."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.iam import ROLES, lake_location, render_policy

BUCKET = "bigd-lake"
LAKE = f"s3://{BUCKET}/bigd"
# One object per zone; raw/partner/ is the restricted zone inside raw/.
PREFIXES = ("raw/cnpj/", "raw/partner/", "quarantine/", "trusted/", "reports/", "state/")
READS = {
    "pipeline": set(PREFIXES),
    "analyst": {"trusted/", "reports/"},
    "marketing": {"reports/"},
}
WRITES = {"pipeline": set(PREFIXES), "analyst": set(), "marketing": set()}
# Requests made with the server's initial (root) credentials before IAM is enforced:
# create the bucket, then per role create the user, attach its policy, create a key.
SETUP_ACTIONS = 1 + 3 * len(ROLES)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _client(service: str, endpoint: str, key_id: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def enforcing_s3():
    """moto's server in its own process, started with IAM enforcement after the setup
    actions (moto reads INITIAL_NO_AUTH_ACTION_COUNT when it is imported, so it must be
    in the environment of the process that imports it); yields ``(endpoint, keys)``."""
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS)}
    moto_server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    process = subprocess.Popen(
        [moto_server, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # a TCP probe, not an HTTP request: it must not use up a setup action
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        _client("s3", endpoint, "setup", "setup").create_bucket(Bucket=BUCKET)
        iam = _client("iam", endpoint, "setup", "setup")
        keys = {}
        for role in ROLES:
            user = f"bigd-{role}"
            iam.create_user(UserName=user)
            iam.put_user_policy(
                UserName=user,
                PolicyName=f"bigd-lake-{role}",
                PolicyDocument=json.dumps(render_policy(role, LAKE)),
            )
            created = iam.create_access_key(UserName=user)["AccessKey"]
            keys[role] = (created["AccessKeyId"], created["SecretAccessKey"])
        pipeline = _client("s3", endpoint, *keys["pipeline"])
        for prefix in PREFIXES:
            pipeline.put_object(Bucket=BUCKET, Key=f"bigd/{prefix}seed.txt", Body=b"seed")
        yield endpoint, keys
    finally:
        process.terminate()
        process.wait(timeout=10)


def _denied(call) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response
        return True
    return False


@pytest.mark.integration
def test_iam_is_enforced_once_the_setup_is_done(enforcing_s3):
    """The server's root credentials stop working after the setup: IAM is really on."""
    from botocore.exceptions import ClientError

    endpoint, _ = enforcing_s3
    with pytest.raises(ClientError) as error:
        _client("s3", endpoint, "setup", "setup").get_object(
            Bucket=BUCKET, Key="bigd/raw/partner/seed.txt"
        )
    assert error.value.response["Error"]["Code"] in {"InvalidAccessKeyId", "AccessDenied"}


@pytest.mark.integration
@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("role", ROLES)
def test_read_matrix(enforcing_s3, role, prefix):
    endpoint, keys = enforcing_s3
    s3 = _client("s3", endpoint, *keys[role])
    denied = _denied(lambda: s3.get_object(Bucket=BUCKET, Key=f"bigd/{prefix}seed.txt"))
    assert denied == (prefix not in READS[role])


@pytest.mark.integration
@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("role", ROLES)
def test_write_matrix(enforcing_s3, role, prefix):
    endpoint, keys = enforcing_s3
    s3 = _client("s3", endpoint, *keys[role])
    key = f"bigd/{prefix}{role}-wrote.txt"
    denied = _denied(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x"))
    assert denied == (prefix not in WRITES[role])


@pytest.mark.integration
@pytest.mark.parametrize("role", ROLES)
def test_nobody_but_the_pipeline_reads_outside_the_lake_root(enforcing_s3, role):
    """The policies are scoped to the lake's prefix: another app's data in the bucket
    stays out of reach of the readers (the pipeline writes only under its root)."""
    endpoint, keys = enforcing_s3
    s3 = _client("s3", endpoint, *keys[role])
    assert _denied(lambda: s3.put_object(Bucket=BUCKET, Key="other-app/x.txt", Body=b"x"))


def test_lake_location_and_placeholders():
    assert lake_location("s3://my-lake") == ("my-lake", "")
    assert lake_location("s3://shared/bigd/") == ("shared", "bigd/")
    policy = render_policy("marketing", "s3://my-lake")
    resources = json.dumps(policy)
    assert "arn:aws:s3:::my-lake/reports/*" in resources
    assert "{{" not in resources
    for bad in ("/tmp/lake", "s3://Bad_Bucket", "s3://lake/a*b"):
        with pytest.raises(ValueError):
            lake_location(bad)
    with pytest.raises(ValueError):
        render_policy("intern", "s3://my-lake")


@pytest.mark.parametrize("role", ["analyst", "marketing"])
def test_readers_list_only_the_zones_they_read(role):
    """Listing is limited by the ``s3:prefix`` condition of ListBucket. moto does not
    evaluate that condition (only ``sts:ExternalId``), so this is checked on the document,
    against the same matrix, and on AWS only for real."""
    policy = render_policy(role, LAKE)
    (listing,) = [s for s in policy["Statement"] if s["Action"] == "s3:ListBucket"]
    prefixes = listing["Condition"]["StringLike"]["s3:prefix"]
    assert sorted(prefixes) == sorted(f"bigd/{prefix}*" for prefix in READS[role])
