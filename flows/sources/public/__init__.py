"""Public datasets (IBGE POF, IPM-NM, population) described by a catalog, not by code.

``catalog`` models ``flows/catalog/public.yaml``; ``fixed_width`` and ``spreadsheet`` stream
IBGE's published formats; ``datasets`` and ``pof`` build each trusted table by IBGE's method;
``read`` validates tables (and reads plain CSVs) with pyarrow and pandera; ``ingest`` fetches
into the raw zone (``pinned`` for IBGE's sha256-pinned files) and writes trusted Parquet.
"""

from flows.sources.public.catalog import (
    DEFAULT_CATALOG,
    Catalog,
    CatalogError,
    ColumnSpec,
    DatasetEntry,
    load_catalog,
)
from flows.sources.public.errors import DatasetError
from flows.sources.public.ingest import (
    IngestedDataset,
    PlannedDataset,
    Scrubber,
    fetch,
    ingest_dataset,
    plan,
    raw_key,
    trusted_key,
)
from flows.sources.public.read import read_and_validate, validate_table

__all__ = [
    "DEFAULT_CATALOG",
    "Catalog",
    "CatalogError",
    "ColumnSpec",
    "DatasetEntry",
    "DatasetError",
    "IngestedDataset",
    "PlannedDataset",
    "Scrubber",
    "fetch",
    "ingest_dataset",
    "load_catalog",
    "plan",
    "raw_key",
    "read_and_validate",
    "trusted_key",
    "validate_table",
]
