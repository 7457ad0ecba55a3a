"""Shared fixtures. Services are started for real on 127.0.0.1 by the session fixtures
below and in ``tests/warehouse_fixtures.py``; unit tests use none of them. The whole
pipeline runs once per session (``pipeline_run``, in ``tests/pipeline_run.py``)."""

from __future__ import annotations

import os

import pytest

from tests.pipeline_run import assign_worker_groups, pipeline_run  # noqa: F401 (a fixture)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    assign_worker_groups(items)


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


@pytest.fixture(autouse=True)
def _package_logging_restored():
    """A CLI test configures the ``flows`` logger with a handler on its runner's stream,
    which is closed afterwards; later tests' warnings must reach pytest's capture again."""
    import logging

    package = logging.getLogger("flows")
    handlers, propagate, level = list(package.handlers), package.propagate, package.level
    yield
    package.handlers[:] = handlers
    package.propagate, package.level = propagate, level


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
