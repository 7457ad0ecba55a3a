"""Settings: defaults, overrides from the environment and .env, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flows.config import Settings, SettingsError, get_settings, load_settings


def test_defaults_are_embedded_and_local(tmp_path):
    settings = load_settings()
    assert settings.profile == "local"
    assert settings.lake_root == str(tmp_path / "data" / "lake")
    assert settings.warehouse == f"duckdb:///{(tmp_path / 'data' / 'warehouse.duckdb').resolve()}"
    assert settings.kafka_bootstrap is None
    assert settings.partner_retention_days == 30
    assert settings.max_bad_row_rate == pytest.approx(0.001)
    assert settings.task_runner == "threads"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("BIGD_LAKE", "s3://lake-bucket/bigd")
    monkeypatch.setenv("BIGD_WAREHOUSE_URL", "postgresql+psycopg2://u:p@127.0.0.1:5432/bigd")
    monkeypatch.setenv("BIGD_KAFKA_BOOTSTRAP", "127.0.0.1:9092,127.0.0.1:9093")
    monkeypatch.setenv("BIGD_PARTNER_API_URL", "http://127.0.0.1:8765/")
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", "function-key")
    monkeypatch.setenv("BIGD_MAX_BAD_ROW_RATE", "0.02")
    settings = load_settings()
    assert settings.lake_root == "s3://lake-bucket/bigd"
    assert settings.warehouse.startswith("postgresql+psycopg2://")
    assert settings.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9093"
    assert settings.partner_api_url == "http://127.0.0.1:8765"
    assert settings.partner_api_key.get_secret_value() == "function-key"
    assert settings.max_bad_row_rate == pytest.approx(0.02)


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BIGD_PARTNER_RETENTION_DAYS=7\n")
    assert load_settings().partner_retention_days == 7


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BIGD_MAX_BAD_ROW_RATE", "5", "Input should be less than or equal to 1"),
        ("BIGD_PARTNER_RETENTION_DAYS", "0", "Input should be greater"),
        ("BIGD_LAKE", "ftp://host/x", "must be a folder or s3://bucket/prefix"),
        ("BIGD_LAKE", "s3://", "s3:// needs a bucket name"),
        ("BIGD_WAREHOUSE_URL", "mysql://u@h/db", "warehouse backend 'mysql' is not one of"),
        ("BIGD_WAREHOUSE_URL", "not a url", "is not a SQLAlchemy URL"),
        ("BIGD_KAFKA_BOOTSTRAP", "localhost", "must be host:port"),
        ("BIGD_PARTNER_API_URL", "127.0.0.1:80", "must start with http://"),
        ("BIGD_TASK_RUNNER", "spark", "Input should be 'threads' or 'dask'"),
        ("BIGD_PROFILE", "prod", "Input should be 'local' or 'aws'"),
        ("BIGD_REDSHIFT_STAGING_PREFIX", "/tmp/x", "must be s3://"),
        ("BIGD_REDSHIFT_SLICES", "0", "Input should be greater than or equal"),
    ],
)
def test_a_wrong_value_names_the_setting_in_one_line(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: {expected}")
    assert "\n" not in message


def test_secrets_are_never_shown(monkeypatch):
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", "super-secret-key")
    monkeypatch.setenv("BIGD_PSEUDONYM_KEY", "another-secret")
    settings = load_settings()
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    assert "super-secret-key" not in shown
    assert "another-secret" not in shown


def test_local_pseudonym_key_is_generated_once_and_private(tmp_path):
    settings = load_settings()
    first = settings.pseudonym_secret()
    assert len(first) == 64
    assert load_settings().pseudonym_secret() == first
    key_file = tmp_path / "data" / ".pseudonym_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_aws_profile_requires_a_pseudonym_key(monkeypatch):
    monkeypatch.setenv("BIGD_PROFILE", "aws")
    with pytest.raises(SettingsError, match="BIGD_PSEUDONYM_KEY"):
        load_settings().pseudonym_secret()
    monkeypatch.setenv("BIGD_PSEUDONYM_KEY", "k")
    assert load_settings().pseudonym_secret() == b"k"


def test_get_settings_is_cached_until_cleared(monkeypatch):
    first = get_settings()
    monkeypatch.setenv("BIGD_PARTNER_RETENTION_DAYS", "9")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().partner_retention_days == 9


def test_every_setting_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"BIGD_{name.upper()}" in readme, f"README does not document BIGD_{name.upper()}"


def test_cli_reports_a_wrong_setting_in_one_line_and_exits_2(tmp_path):
    env = {"BIGD_MAX_BAD_ROW_RATE": "lots", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flows", "sample", "--out", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Setting error: BIGD_MAX_BAD_ROW_RATE: Input should be a valid number, unable to parse "
        "string as a number (got 'lots')"
    ]


def test_cli_ends_a_failed_command_with_one_line_and_exit_1(tmp_path):
    missing = tmp_path / "no-release"
    result = subprocess.run(
        [sys.executable, "-m", "flows", "partner-api", "--data", str(missing), "--key", "k"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BIGD_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Failed: FileNotFoundError: partner data file missing: {missing}/categories.json"
    )
    assert "Traceback" not in result.stderr
