"""Shared fixtures. Services are started for real on 127.0.0.1 by the fixtures in
``tests/services.py``; unit tests use none of them."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """Every test starts from default settings rooted in its own temporary folder."""
    from flows.config import get_settings

    for name in list(os.environ):
        if name.startswith("BIGD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BIGD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session (about 15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 API (moto's server) on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh, empty bucket on the S3 server; yields ``(endpoint_url, bucket_name)``."""
    import uuid

    import boto3

    name = f"bigd-test-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return s3_server, name


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    """A real tansu broker for the session (topics are unique per test); shared by the
    publishing tests and the fault matrix (tests/faults)."""
    from tests.kafka_broker import tansu_broker

    with tansu_broker(tmp_path_factory.mktemp("tansu") / "tansu.log") as bootstrap:
        yield bootstrap
