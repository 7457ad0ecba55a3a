"""The aws profile fails closed: a production worker missing any of its lake, warehouse or
results target stops before any work, names every missing setting in one line, and
writes nothing on its own disk (the local profile keeps its embedded defaults)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.config import get_settings, load_settings
from flows.resources import (
    LAKE_SETTING,
    RESULTS_SETTING,
    WAREHOUSE_SETTING,
    ProfileError,
    build_resources,
    get_resources,
    missing_for_profile,
)

ROOT = Path(__file__).resolve().parents[1]
COMPLETE = {
    "BIGD_LAKE": "s3://company-lake/bigd",
    "BIGD_WAREHOUSE_URL": "redshift+psycopg2://bigd@cluster.example:5439/dev",
    "BIGD_REDSHIFT_IAM_ROLE": "arn:aws:iam::123456789012:role/bigd-copy",
    "BIGD_REDSHIFT_STAGING_PREFIX": "s3://company-lake/staging",
    "BIGD_KAFKA_BOOTSTRAP": "kafka.example:9092",
}
NAMES = {
    "BIGD_LAKE": LAKE_SETTING,
    "BIGD_WAREHOUSE_URL": WAREHOUSE_SETTING,
    "BIGD_KAFKA_BOOTSTRAP": RESULTS_SETTING,
}


@pytest.fixture
def no_prefect_api(monkeypatch):
    """No block can be read: each missing setting has nothing to fall back on."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def _aws(**values: str):
    return load_settings(
        profile="aws", **{k.removeprefix("BIGD_").lower(): v for k, v in values.items()}
    )


def test_a_complete_aws_profile_builds_every_resource(no_prefect_api):
    resources = build_resources(_aws(**COMPLETE))
    assert resources.lake.uri_root == "s3://company-lake/bigd"
    assert resources.warehouse.backend == "redshift"
    assert resources.settings.results_target == "kafka"


@pytest.mark.parametrize("setting", sorted(NAMES))
def test_each_missing_setting_is_named(no_prefect_api, setting):
    values = {k: v for k, v in COMPLETE.items() if k != setting}
    with pytest.raises(ProfileError) as raised:
        build_resources(_aws(**values))
    message = str(raised.value)
    assert "\n" not in message
    assert message == f"BIGD_PROFILE=aws is missing: {NAMES[setting]}"


def test_every_missing_setting_is_named_in_one_line(no_prefect_api):
    with pytest.raises(ProfileError) as raised:
        build_resources(_aws())
    assert str(raised.value) == (
        f"BIGD_PROFILE=aws is missing: {LAKE_SETTING}; {WAREHOUSE_SETTING}; {RESULTS_SETTING}"
    )


def test_a_folder_lake_or_duckdb_is_not_production():
    settings = _aws(**{**COMPLETE, "BIGD_LAKE": "/tmp/lake", "BIGD_WAREHOUSE_URL": "duckdb:///x"})
    assert missing_for_profile(settings) == [LAKE_SETTING, WAREHOUSE_SETTING]


def test_redshift_needs_its_copy_role_and_staging_prefix():
    values = {k: v for k, v in COMPLETE.items() if "REDSHIFT" not in k}
    missing = missing_for_profile(_aws(**values))
    assert [name.split()[0] for name in missing] == [
        "BIGD_REDSHIFT_IAM_ROLE",
        "BIGD_REDSHIFT_STAGING_PREFIX",
    ]


def test_the_outbox_is_a_results_target_only_when_named():
    values = {k: v for k, v in COMPLETE.items() if k != "BIGD_KAFKA_BOOTSTRAP"}
    assert missing_for_profile(_aws(**values)) == [RESULTS_SETTING]
    named = _aws(**values, BIGD_RESULTS="outbox")
    assert missing_for_profile(named) == []
    assert named.results_target == "outbox"
    kafka_without_broker = _aws(**values, BIGD_RESULTS="kafka")
    assert missing_for_profile(kafka_without_broker) == [
        "BIGD_KAFKA_BOOTSTRAP (BIGD_RESULTS=kafka)"
    ]


def test_the_local_profile_keeps_its_embedded_defaults(tmp_path):
    resources = build_resources(load_settings(data_dir=tmp_path))
    assert resources.lake.is_local
    assert resources.warehouse.backend == "duckdb"
    assert resources.settings.results_target == "outbox"


def test_resources_are_built_once_per_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("BIGD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    first = get_resources()
    assert get_resources() is first
    assert first.lake is get_resources().lake
    get_settings.cache_clear()
    assert get_resources() is not first


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIGD_", "PREFECT_API"))}
    return {**env, "BIGD_PROFILE": "aws", **values}


@pytest.mark.parametrize("setting", [*sorted(NAMES), "all"])
def test_bigd_load_with_a_missing_setting_fails_first_and_writes_nothing(tmp_path, setting):
    """The real command, in an empty working folder (where ./data would be created)."""
    values = {k: v for k, v in COMPLETE.items() if k != setting} if setting != "all" else {}
    done = subprocess.run(
        [sys.executable, "-m", "flows", "load"],
        cwd=tmp_path,
        env=_environment(**values, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    expected = NAMES.values() if setting == "all" else [NAMES[setting]]
    for name in expected:
        assert name in last
    assert list(tmp_path.iterdir()) == []  # no data/, no lake, no DuckDB file, no key
