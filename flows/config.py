"""One Settings object for the whole system, read from ``BIGD_*`` variables and ``.env``.

The business code never asks "am I local?": it asks the settings for a lake, a
warehouse URL or a publisher, and the profile decides what those are.
Every setting is documented in the README's settings table; keep the two in step.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
RECEITA_CNPJ_BASE_URL = "https://arquivos.receitafederal.gov.br/dados/cnpj/dados_abertos_cnpj/"
# The SQLAlchemy backends ``flows.warehouse.engines`` has an entry for (settings sit below
# the warehouse package, so the list is spelled here and the registry is built from it).
WAREHOUSE_BACKENDS = ("duckdb", "postgresql", "redshift")


def _default_data_dir() -> Path:
    from flows.data_folder import default_data_dir

    return default_data_dir()


class SettingsError(ValueError):
    """A setting has a wrong value. The message is one line naming the setting."""


class Settings(BaseSettings):
    """Big D settings. Environment prefix ``BIGD_``; an optional ``.env`` file is read too."""

    model_config = SettingsConfigDict(
        env_prefix="BIGD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    profile: Literal["local", "aws"] = Field(
        "local", description="local = embedded services; aws = S3, Redshift, Kafka"
    )
    data_dir: Path = Field(
        default_factory=lambda: _default_data_dir(),
        description="working folder for local defaults (lake, DuckDB, keys); unset: the "
        "folder `bigd demo` recorded for this checkout, else ./data",
    )
    lake: str = Field("", description="data lake root: a folder or s3://bucket/prefix")
    warehouse_url: str = Field("", description="SQLAlchemy URL of the warehouse")
    kafka_bootstrap: str | None = Field(
        None, description="host:port[,host:port]; unset = JSON-lines outbox in the lake"
    )
    results: Literal["", "kafka", "outbox"] = Field(
        "",
        description="where results go: kafka or outbox (JSON lines in the lake); unset = "
        "kafka when BIGD_KAFKA_BOOTSTRAP is set, else outbox (the aws profile needs it named)",
    )
    kafka_partitions: int = Field(
        3, ge=1, description="partitions of a results topic Big D creates when missing"
    )
    kafka_workers: int = Field(
        2, ge=1, le=32, description="processes sending to Kafka (kafka-python is CPU-bound)"
    )
    topic_potential: str = Field("bigd.potential", description="topic: potential per region")
    topic_prospects: str = Field("bigd.prospects", description="topic: scored prospects")
    topic_model_metrics: str = Field("bigd.model-metrics", description="topic: model metrics")
    topic_reports: str = Field("bigd.reports", description="topic: a report is ready")
    partner_api_url: str | None = Field(None, description="base URL of the partner's API")
    partner_api_key: SecretStr | None = Field(None, description="the partner API function key")
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for pseudonyms; local profile makes one if unset"
    )
    partner_retention_days: int = Field(30, ge=1, description="days raw partner data is kept")
    max_bad_row_rate: float = Field(
        0.001, ge=0.0, le=1.0, description="bad rows per file above which ingestion fails"
    )
    lock_wait_seconds: float = Field(
        60.0, ge=0.0, description="how long a writer waits for another run of it to finish"
    )
    max_table_shrink: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share a full table may shrink by against the trusted one before a run fails",
    )
    task_runner: Literal["threads", "dask"] = Field("threads", description="how tasks run")
    dask_address: str | None = Field(
        None,
        description="scheduler address for task_runner=dask and the analysis's "
        'scoring_cluster="dask"; unset = local cluster',
    )
    cnpj_base_url: str = Field(RECEITA_CNPJ_BASE_URL, description="CNPJ open-data base URL")
    public_source: str | None = Field(
        None, description="folder or base URL that {source} stands for in the public catalog"
    )
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (tests, MinIO)")
    redshift_iam_role: str | None = Field(
        None, description="IAM role ARN Redshift assumes to COPY from the staging prefix"
    )
    redshift_staging_prefix: str | None = Field(
        None, description="s3://bucket/prefix where Parquet is staged for Redshift COPY"
    )
    redshift_slices: int = Field(2, ge=1, description="slices of the Redshift cluster")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")

    @field_validator("lake")
    @classmethod
    def _lake_is_folder_or_s3(cls, value: str) -> str:
        if "://" in value and not value.startswith("s3://"):
            raise ValueError(f"must be a folder or s3://bucket/prefix, got {value!r}")
        if value.startswith("s3://") and not value[5:].strip("/"):
            raise ValueError("s3:// needs a bucket name, e.g. s3://my-lake/bigd")
        return value

    @field_validator("redshift_staging_prefix")
    @classmethod
    def _staging_is_s3(cls, value: str | None) -> str | None:
        if value and not value.startswith("s3://"):
            raise ValueError(f"must be s3://bucket/prefix, got {value!r}")
        return value or None

    @field_validator("warehouse_url")
    @classmethod
    def _warehouse_url_is_known(cls, value: str) -> str:
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"is not a SQLAlchemy URL: {value!r}") from None
        backend = url.get_backend_name()
        if backend not in WAREHOUSE_BACKENDS:  # the engines' registry is checked against it
            known = ", ".join(WAREHOUSE_BACKENDS)
            raise ValueError(f"warehouse backend {backend!r} is not one of {known}")
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_ports(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"must be host:port[,host:port], got {value!r}")
        return value

    @field_validator("topic_potential", "topic_prospects", "topic_model_metrics", "topic_reports")
    @classmethod
    def _is_topic_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
            raise ValueError(f"must be a Kafka topic name ([A-Za-z0-9._-]), got {value!r}")
        return value

    @field_validator("partner_api_url", "cnpj_base_url", "s3_endpoint_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    # ---- derived values -------------------------------------------------------------

    @property
    def lake_root(self) -> str:
        """The lake root: the setting, or ``<data_dir>/lake``."""
        return self.lake or str(self.data_dir / "lake")

    @property
    def warehouse(self) -> str:
        """The warehouse URL: the setting, or a DuckDB file under ``data_dir``."""
        if self.warehouse_url:
            return self.warehouse_url
        return f"duckdb:///{(self.data_dir / 'warehouse.duckdb').resolve()}"

    @property
    def results_target(self) -> Literal["kafka", "outbox"]:
        """``BIGD_RESULTS``, or Kafka when a bootstrap is set, else the lake's outbox."""
        if self.results:
            return self.results
        return "kafka" if self.kafka_bootstrap else "outbox"

    def pseudonym_secret(self) -> bytes:
        """The HMAC key. The local profile keeps a generated key in ``data_dir`` so
        pseudonyms stay stable between runs; the aws profile must be given one."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        if self.profile == "aws":
            raise SettingsError("BIGD_PSEUDONYM_KEY: required with BIGD_PROFILE=aws")
        key_file = self.data_dir / ".pseudonym_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if "partner_api_key" in field or "pseudonym_key" in field else f" (got {got!r})"
    if isinstance(got, dict) or "got " in message:
        shown = ""
    return f"BIGD_{field.upper()}: {message}{shown}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; a wrong value raises SettingsError with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return load_settings()
