"""The one place that turns settings into the things the flows use.

Flows, the demo, the notebooks and the CLI ask :func:`get_resources` for the lake, the
warehouse, the partner client, the task runner (and, from the delivery stage on, the
publisher and the report store); none of them reads an endpoint, a dialect or a secret
itself. The business code never asks "am I local?": the settings' profile decides what
each resource is, here.

| resource   | local (default)                  | aws (each one required)                  |
| ---------- | -------------------------------- | ---------------------------------------- |
| lake       | folder ``<data_dir>/lake``       | ``s3://bucket/prefix`` or block          |
| warehouse  | DuckDB file ``<data_dir>/...``   | Redshift (or PostgreSQL) by URL          |
| task runner| threads                          | Dask (``BIGD_TASK_RUNNER=dask``)         |
| publisher  | JSON-lines outbox in the lake    | Kafka, or the outbox named on purpose    |
| reports    | ``reports/`` in the lake         | the same on S3, encrypted                |

:func:`build_resources` is the one function that makes them from a profile: in ``aws``
anything missing raises one :class:`ProfileError` naming every missing setting, before
any work and without writing anything (no fallback to the worker's disk).
:func:`get_resources` builds them once per settings object, so a flow run resolves its
blocks once and every task gets the same lake.

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

    from flows.publish.publisher import Publisher
    from flows.reports.archive import ReportStore
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


class ProfileError(SettingsError):
    """The profile lacks settings it needs; the message names every one, on one line."""


LAKE_SETTING = f"BIGD_LAKE (s3://bucket/prefix, or the Prefect S3Bucket block {LAKE_BLOCK!r})"
WAREHOUSE_SETTING = "BIGD_WAREHOUSE_URL (redshift+psycopg2:// or postgresql+psycopg2://)"
RESULTS_SETTING = "BIGD_KAFKA_BOOTSTRAP (or BIGD_RESULTS=outbox to name the lake's outbox)"


def missing_for_profile(settings: Settings, lake_from_block: bool = False) -> list[str]:
    """What the profile needs and the settings lack (empty: ready). The local profile has
    embedded defaults for everything; the aws profile has none, so a production worker
    with one variable missing never writes the company's data to its own disk."""
    if settings.profile != "aws":
        return []
    missing = []
    if not settings.lake.startswith("s3://") and not (not settings.lake and lake_from_block):
        missing.append(LAKE_SETTING)
    backend = settings.warehouse_url.partition("://")[0].partition("+")[0]
    if backend not in ("redshift", "postgresql"):
        missing.append(WAREHOUSE_SETTING)
    elif backend == "redshift":
        if not settings.redshift_iam_role:
            missing.append("BIGD_REDSHIFT_IAM_ROLE (the role Redshift assumes to COPY)")
        if not settings.redshift_staging_prefix:
            missing.append("BIGD_REDSHIFT_STAGING_PREFIX (s3://bucket/prefix for COPY)")
    if settings.results == "kafka" and not settings.kafka_bootstrap:
        missing.append("BIGD_KAFKA_BOOTSTRAP (BIGD_RESULTS=kafka)")
    elif not settings.results and not settings.kafka_bootstrap:
        missing.append(RESULTS_SETTING)
    return missing


class Resources:
    """Everything built from one Settings object (cheap to make; parts built on demand).

    Build it with :func:`build_resources` (or :func:`get_resources`), which checks the
    profile first; a bare ``Resources(settings)`` checks nothing (unit tests).
    """

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def lake(self) -> Lake:
        """``BIGD_LAKE``; in the aws profile without it, the S3Bucket block ``bigd-lake``
        (the aws profile never falls back to a folder: :func:`check_profile`)."""
        url, endpoint = self.settings.lake_root, self.settings.s3_endpoint_url
        if self.settings.profile == "aws" and not self.settings.lake:
            try:
                url, block_endpoint = self._lake_block()
            except BlockUnavailable as error:
                raise ProfileError(
                    f"BIGD_PROFILE=aws is missing: {LAKE_SETTING} ({error})"
                ) from None
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

    def publisher(self) -> Publisher:
        """Where results go: ``BIGD_RESULTS`` (Kafka with ``BIGD_KAFKA_BOOTSTRAP``, else the
        lake's outbox)."""
        from flows.publish.factory import publisher_from_settings

        return publisher_from_settings(self.settings, self.lake)

    def report_store(self) -> ReportStore:
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


def build_resources(settings: Settings) -> Resources:
    """The one function that turns a profile into resources: every resource the profile
    needs is resolved here, before any work, and anything missing raises one
    :class:`ProfileError` naming every missing setting. Nothing is written anywhere."""
    resources = Resources(settings)
    if settings.profile != "aws":
        return resources
    lake_from_block = False
    if not settings.lake:
        try:
            resources.__dict__["lake"] = resources.lake  # the block, fetched once
            lake_from_block = True
        except ProfileError:
            pass
    missing = missing_for_profile(settings, lake_from_block)
    if missing:
        raise ProfileError(f"BIGD_PROFILE=aws is missing: {'; '.join(missing)}")
    return resources


_current: Resources | None = None


def get_resources() -> Resources:
    """The resources of the process-wide settings, built once (and again only when tests
    clear the settings): a flow run resolves its lake, blocks and warehouse one time."""
    global _current
    settings = get_settings()
    if _current is None or _current.settings is not settings:
        _current = build_resources(settings)
    return _current


def warehouse_engine() -> Engine:
    """The warehouse engine for a notebook, from the flows' own resources (no secret ever
    passes through a notebook parameter). The caller disposes of it."""
    return get_resources().warehouse.engine()
