"""The partner's tables, named once: in the API, in the lake, in the warehouse.

Everything that spells a partner table name (the client and the record models, the lake
keys the ingestion writes, the warehouse's core tables, the retention purge's prefix)
imports it from here. Its lake keys come from ``flows.layout``; it imports nothing else of
the project, so the warehouse and the purge can use it without pulling in the client.

The sample server (``flows.sample.partner_api``) spells the API names on its own on
purpose: it stands in for the partner's side of the contract, so its tests check the
client against an independent reading of product.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows import layout

RAW_PREFIX = layout.PARTNER_RAW_PREFIX  # the restricted zone: purged after the retention period
STATE_PREFIX = layout.PARTNER_STATE_PREFIX
PARTNER_SECRET_BLOCK = "bigd-partner-api-key"  # the Prefect Secret block holding the key


@dataclass(frozen=True)
class PartnerTable:
    """One partner table: its name in the API, in the lake and in the warehouse."""

    api: str  # the ``table=`` parameter of the API
    lake: str  # the folder under raw/, quarantine/ and trusted/partner/
    core: str  # the warehouse table it is loaded into
    partition: Literal["snapshot", "sale_date"]  # replaced whole, or one sale day at a time

    @property
    def dataset(self) -> str:
        """The scrub policy's dataset name."""
        return f"partner.{self.lake}"

    @property
    def trusted(self) -> str:
        return layout.partner_trusted_prefix(self.lake)


CATEGORIES = PartnerTable("Category", "categories", "core.categories", "snapshot")
ESTABLISHMENTS = PartnerTable(
    "Establishment", "establishments", "core.partner_establishments", "snapshot"
)
SALES = PartnerTable("Sale", "sales", "core.sales", "sale_date")
TABLES = (CATEGORIES, ESTABLISHMENTS, SALES)
BY_API = {table.api: table for table in TABLES}
API_NAMES = tuple(BY_API)
