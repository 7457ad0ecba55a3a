from __future__ import annotations

import pytest

from tests.kafka_broker import tansu_broker


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    """A real tansu broker for the session (topics are unique per test)."""
    with tansu_broker(tmp_path_factory.mktemp("tansu") / "tansu.log") as bootstrap:
        yield bootstrap
