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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from flows.config import Settings, SettingsError, get_settings
from flows.lake import Lake

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from flows.warehouse.engines import EngineKind, Loader

PARTNER_KEY_BLOCK = "bigd-partner-api-key"  # Prefect Secret block, when the env has no key
CNPJ_THREADS = 2  # files parsed at once on threads: each holds ~300 MB at its peak


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
        return Lake.from_url(self.settings.lake_root, self.settings.s3_endpoint_url)

    @cached_property
    def warehouse(self) -> Warehouse:
        from flows.warehouse.engines import engine_kind

        url = self.settings.warehouse
        return Warehouse(url, engine_kind(url), self.settings)

    def pseudonym_key(self) -> bytes:
        """The HMAC key of the pseudonyms (generated once in the local profile)."""
        return self.settings.pseudonym_secret()

    def partner_key(self) -> SecretStr:
        """The partner's function key: ``BIGD_PARTNER_API_KEY``, else the Prefect Secret
        block ``bigd-partner-api-key`` (how deployments are given it)."""
        key = self.settings.partner_api_key
        if key is not None and key.get_secret_value():
            return key
        try:
            from prefect.blocks.system import Secret

            value = Secret.load(PARTNER_KEY_BLOCK).get()
        except Exception as error:  # any failure means "no usable block"; say which kind
            reason = type(error).__name__
        else:
            return SecretStr(str(value))
        raise SettingsError(
            f"BIGD_PARTNER_API_KEY: not set, and no Prefect Secret block "
            f"{PARTNER_KEY_BLOCK!r} ({reason})"
        )

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
        from flows.publish.publisher import publisher_from_settings

        return publisher_from_settings(self.settings, self.lake)

    def report_store(self) -> Any:
        """The report archive in the lake (on S3 with content types and encryption)."""
        from flows.reports.archive import report_store

        return report_store(self.lake, self.settings.s3_endpoint_url)

    def task_runner(self, max_workers: int = CNPJ_THREADS) -> Any:
        """Threads by default; a Dask cluster (given address or a small local one) by setting.
        Threads are bounded by memory, not by files: each parse holds a few hundred MB."""
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
