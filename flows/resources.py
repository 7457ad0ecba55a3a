"""The one place that turns settings into the things the flows use.

Flows, the demo, the notebooks and the CLI ask :func:`get_resources` for the lake, the
warehouse, the partner client, the task runner (and, from the delivery stage on, the
publisher and the report store); none of them reads an endpoint, a dialect or a secret
itself. The business code never asks "am I local?": the settings' profile decides what
each resource is, here.

| resource   | local (default)                  | aws                                      |
| ---------- | -------------------------------- | ---------------------------------------- |
| lake       | folder ``<data_dir>/lake``       | ``s3://bucket/prefix`` (+ endpoint)      |
| warehouse  | DuckDB file ``<data_dir>/...``   | Redshift (or PostgreSQL) by URL          |
| task runner| threads                          | Dask (``BIGD_TASK_RUNNER=dask``)         |
| publisher  | JSON-lines outbox in the lake    | Kafka (``BIGD_KAFKA_BOOTSTRAP``)         |
| reports    | ``reports/`` in the lake         | the same on S3, encrypted                |

Deployments are given their secrets and the lake as Prefect blocks (``python -m flows
deploy``); a setting in the environment wins, a block fills in for a missing one when a
Prefect API is configured (a deployed flow run always has one):

- ``bigd-partner-api-key`` (Secret): ``partner_key()``, when ``BIGD_PARTNER_API_KEY``
  is unset;
- ``bigd-pseudonym-key`` (Secret): ``pseudonym_key()``, in the aws profile when
  ``BIGD_PSEUDONYM_KEY`` is unset;
- ``bigd-lake`` (S3Bucket): ``lake``, in the aws profile when ``BIGD_LAKE`` is unset: its
  bucket and folder, and its credentials' endpoint unless ``BIGD_S3_ENDPOINT_URL`` is set.

``bigd-aws`` (AwsCredentials) is not read: the lake (pyarrow, boto3), DuckDB and Redshift's
COPY all use the standard AWS credential chain (deployments/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from flows.config import Settings, SettingsError, get_settings
from flows.lake import Lake
from flows.sources.partner.tables import PARTNER_SECRET_BLOCK

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from flows.warehouse.engines import EngineKind, Loader

# The Prefect blocks `bigd deploy` creates and the resources read when the env has no value.
AWS_BLOCK = "bigd-aws"  # AwsCredentials: for the work pool's env; clients use the AWS chain
LAKE_BLOCK = "bigd-lake"  # S3Bucket (aws profile)
PARTNER_KEY_BLOCK = PARTNER_SECRET_BLOCK  # Secret, when BIGD_PARTNER_API_KEY is unset
PSEUDONYM_KEY_BLOCK = "bigd-pseudonym-key"  # Secret (aws profile)


class BlockUnavailable(LookupError):
    """No usable Prefect block: no API configured, no such block, or it could not be read."""


def load_block(block_type: Any, name: str) -> Any:
    """The saved block ``name`` of ``block_type``, from the configured Prefect API only:
    without ``PREFECT_API_URL`` nothing is tried (no ephemeral server is started)."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise BlockUnavailable("no Prefect API configured")
    try:
        return block_type.load(name)
    except Exception as error:  # any failure means "no usable block"; say which kind
        raise BlockUnavailable(type(error).__name__) from None


@dataclass(frozen=True)
class Warehouse:
    """The warehouse: its URL, its registry entry (dialect, loader), engines on demand."""

    url: str
    kind: EngineKind
    settings: Settings

    @property
    def dialect(self) -> str:
        """The sqlglot dialect its SQL is rendered in."""
        return self.kind.dialect

    @property
    def backend(self) -> str:
        return self.kind.backend

    def engine(self, *, for_load: bool = False) -> Engine:
        """A new SQLAlchemy engine; the caller disposes of it."""
        return self.kind.engine(self.url, for_load=for_load)

    def loader(self) -> Loader:
        """The engine's load strategy (Redshift's needs its IAM role and staging prefix)."""
        return self.kind.make_loader(self.settings)


if TYPE_CHECKING:  # the partner client is imported only when one is built
    from flows.sources.partner.client import PartnerApiClient


class Resources:
    """Everything built from one Settings object (cheap to make; parts built on demand)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def lake(self) -> Lake:
        """``BIGD_LAKE``; in the aws profile without it, the S3Bucket block ``bigd-lake``
        (if there is none: ``<data_dir>/lake``, as in the local profile)."""
        url, endpoint = self.settings.lake_root, self.settings.s3_endpoint_url
        if self.settings.profile == "aws" and not self.settings.lake:
            try:
                url, block_endpoint = self._lake_block()
            except BlockUnavailable:
                pass  # as without blocks: the folder under BIGD_DATA_DIR
            else:
                endpoint = endpoint or block_endpoint
        return Lake.from_url(url, endpoint)

    @staticmethod
    def _lake_block() -> tuple[str, str | None]:
        """``s3://bucket/folder`` and the endpoint of the ``bigd-lake`` block."""
        from prefect_aws.s3 import S3Bucket

        block = load_block(S3Bucket, LAKE_BLOCK)
        folder = (block.bucket_folder or "").strip("/")
        url = f"s3://{block.bucket_name}/{folder}" if folder else f"s3://{block.bucket_name}"
        parameters = getattr(block.credentials, "aws_client_parameters", None)
        return url, getattr(parameters, "endpoint_url", None) or None

    @cached_property
    def warehouse(self) -> Warehouse:
        from flows.warehouse.engines import engine_kind

        url = self.settings.warehouse
        return Warehouse(url, engine_kind(url), self.settings)

    def pseudonym_key(self) -> bytes:
        """The HMAC key of the pseudonyms: ``BIGD_PSEUDONYM_KEY``; in the aws profile
        without it, the Prefect Secret block ``bigd-pseudonym-key``; in the local profile,
        a key generated once under ``data_dir``."""
        if self.settings.pseudonym_key is None and self.settings.profile == "aws":
            from prefect.blocks.system import Secret

            try:
                value = load_block(Secret, PSEUDONYM_KEY_BLOCK).get()
            except BlockUnavailable as error:
                raise SettingsError(
                    "BIGD_PSEUDONYM_KEY: required with BIGD_PROFILE=aws, and no Prefect Secret "
                    f"block {PSEUDONYM_KEY_BLOCK!r} ({error})"
                ) from None
            if str(value):
                return str(value).encode()
        return self.settings.pseudonym_secret()

    def partner_key(self) -> SecretStr:
        """The partner's function key: ``BIGD_PARTNER_API_KEY``, else the Prefect Secret
        block ``bigd-partner-api-key`` (how deployments are given it)."""
        key = self.settings.partner_api_key
        if key is not None and key.get_secret_value():
            return key
        from prefect.blocks.system import Secret

        try:
            return SecretStr(str(load_block(Secret, PARTNER_KEY_BLOCK).get()))
        except BlockUnavailable as error:
            raise SettingsError(
                f"BIGD_PARTNER_API_KEY: not set, and no Prefect Secret block "
                f"{PARTNER_KEY_BLOCK!r} ({error})"
            ) from None

    def partner_url(self) -> str:
        if not self.settings.partner_api_url:
            raise SettingsError("BIGD_PARTNER_API_URL: required to ingest the partner API")
        return self.settings.partner_api_url

    def partner_client(self, **options: Any) -> PartnerApiClient:
        """A client of the partner's API with the URL and key resolved here; ``options``
        (timeout, concurrency, attempts, delays) go to ``PartnerApiClient``. Close it."""
        from flows.sources.partner.client import PartnerApiClient

        return PartnerApiClient(self.partner_url(), self.partner_key(), **options)

    def publisher(self) -> Any:
        """Where results go: Kafka with ``BIGD_KAFKA_BOOTSTRAP``, else the lake's outbox."""
        from flows.publish.factory import publisher_from_settings

        return publisher_from_settings(self.settings, self.lake)

    def report_store(self) -> Any:
        """The report archive in the lake (on S3 with content types and encryption)."""
        from flows.reports.archive import report_store

        return report_store(self.lake, self.lake.s3_endpoint_url)

    def task_runner(self, max_workers: int = 4) -> Any:
        """Threads by default; a Dask cluster (given address or a small local one) by setting.
        (How many CNPJ parses run at once is bounded by memory, in
        ``flows/sources/cnpj/memory.py``, not by the threads.)"""
        if self.settings.task_runner == "dask":
            from prefect_dask import DaskTaskRunner

            if self.settings.dask_address:
                return DaskTaskRunner(address=self.settings.dask_address)
            return DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max_workers)


def get_resources() -> Resources:
    """Resources for the process-wide settings (re-read when tests clear the settings)."""
    return Resources(get_settings())


def warehouse_engine() -> Engine:
    """The warehouse engine for a notebook, from the flows' own resources (no secret ever
    passes through a notebook parameter). The caller disposes of it."""
    return get_resources().warehouse.engine()
