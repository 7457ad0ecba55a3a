"""What is loaded: every core table, where its trusted Parquet lives, how it is partitioned.

A CNPJ release is read through its ``_SUCCESS.json`` manifests (``flows.layout``), never
by listing files: the release manifest names its tables, each table manifest its parts
and row counts. Only listed parts are loaded, a listed part that is missing (or holds
another row count) fails the load naming it, and the row counts the load reconciles
against are the manifests', not those of the files it has just read. A lake without
any published release fails the load instead of loading only the crosswalk.

Partner and public tables are the documented exception: each table (or partner sales
day) is one Parquet object that its writer replaces atomically (``write_atomically`` /
``replace_prefix_with``), so a listing cannot see half an output and they are read by
listing; their counts come from the files' footers.

This is the one place that maps trusted column names to core column names (each core column
lists the trusted names it accepts, first match wins); public datasets declare their core
table and renames in their catalog entry (``flows/catalog/public.yaml``, ``warehouse:``).
Columns declared ``NOT NULL`` in ``core.sql`` are required; any other core column missing
from the Parquet (e.g. dropped by the scrub policy) is loaded as NULL and reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from flows import layout
from flows.lake import Lake
from flows.layout import RELEASE_PATTERN, check_release
from flows.municipalities import municipalities
from flows.sources.partner import tables as partner

Partition = Literal["release", "sale_date", "snapshot"]
SNAPSHOT = "all"
_SALE_DAY = re.compile(r"sale_date=(\d{4}-\d{2}-\d{2})")


def _sale_day_of(path: str) -> str:
    """The ``sale_date=YYYY-MM-DD`` of a Hive-partitioned path."""
    found = _SALE_DAY.search(path)
    if found is None:
        raise ValueError(f"{path}: no sale_date= partition in the path")
    return found.group(1)


@dataclass(frozen=True)
class TableSpec:
    """One core table and the trusted data that fills it."""

    core: str
    source: str  # lake key; ``{release}`` is replaced for CNPJ tables
    partition: Partition
    renames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.core.split(".", 1)[1]

    @property
    def staging(self) -> str:
        return f"staging.{self.name}"

    def source_names(self, column: str) -> tuple[str, ...]:
        """Trusted column names accepted for a core column."""
        return self.renames.get(column, (column,))


class TrustedDataError(FileNotFoundError):
    """The trusted zone does not hold what the manifests promise (or holds no release)."""


def _cnpj(core: str, table: str) -> TableSpec:
    return TableSpec(f"core.{core}", layout.cnpj_table_prefix("{release}", table), "release")


CNPJ_TABLES = (
    _cnpj("companies", "empresas"),
    _cnpj("establishments", "estabelecimentos"),
    _cnpj("partners", "socios"),
    _cnpj("simples", "simples"),
    *(_cnpj(domain, domain) for domain in ("cnaes", "municipios", "naturezas")),
    *(_cnpj(domain, domain) for domain in ("qualificacoes", "paises", "motivos")),
)
PARTNER_TABLES = tuple(TableSpec(t.core, t.trusted, t.partition) for t in partner.TABLES)


def public_tables(catalog_path: str | None = None) -> tuple[TableSpec, ...]:
    """The public datasets that declare a warehouse table in the catalog (``warehouse:``), so
    a new public dataset is a catalog entry plus its DDL in ``core.sql``."""
    from flows.sources.public.catalog import load_catalog

    return tuple(
        TableSpec(
            entry.warehouse.table,
            layout.public_trusted_prefix(name),
            "snapshot",
            {core: tuple(names) for core, names in entry.warehouse.renames.items()},
        )
        for name, entry in load_catalog(catalog_path).datasets.items()
        if entry.warehouse is not None
    )


PUBLIC_TABLES = public_tables()
CROSSWALK = TableSpec("core.municipality_crosswalk", "flows.municipalities", "snapshot")


@dataclass
class TrustedInput:
    """A table to load: its spec, the Parquet as a dataset, and its trusted row counts."""

    spec: TableSpec
    dataset: ds.Dataset
    trusted_rows: dict[str, int]  # partition value -> rows in the trusted zone
    files: list[str] = field(default_factory=list)  # lake filesystem paths
    hive: bool = False  # the partition column comes from the folder names
    release: str | None = None
    columns: tuple[str, ...] | None = None  # read only these (None: every column)

    @property
    def schema(self) -> pa.Schema:
        schema = self.dataset.schema
        if self.columns is None:
            return schema
        return pa.schema([schema.field(name) for name in self.columns])

    def only(self, columns: Iterable[str]) -> TrustedInput:
        """The same input, reading only ``columns`` (those its core table uses)."""
        return dataclasses.replace(self, columns=tuple(columns))

    @property
    def num_rows(self) -> int:
        return sum(self.trusted_rows.values())

    def batches(
        self, batch_size: int = 64_000, part: int = 0, parts: int = 1
    ) -> Iterator[pa.RecordBatch]:
        """Record batches, one file at a time with no read-ahead, so memory stays flat.

        With ``parts`` > 1, only this ``part``'s share: row groups ``part``,
        ``part + parts``, ... counted across the files, for concurrent readers.
        """
        schema = self.schema
        if not self.files:
            if part == 0:
                yield from self.dataset.to_batches(columns=schema.names, batch_size=batch_size)
            return
        # With hive partitioning, sale_date is in the folder name, not in the file.
        in_file = [name for name in schema.names if not (self.hive and name == "sale_date")]
        first = 0  # the overall index of this file's first row group
        for path in self.files:
            with self.dataset.filesystem.open_input_file(path) as source:
                parquet = pq.ParquetFile(source)
                count = parquet.num_row_groups
                mine = [g for g in range(count) if (first + g) % parts == part]
                first += count
                for group in mine:
                    # One reader per row group: a reader over many row groups holds on to
                    # memory until it ends (measured: 5M rows in one file 528 MB, not 240).
                    for batch in parquet.iter_batches(batch_size, [group], in_file):
                        if self.hive:
                            day = dt.date.fromisoformat(_sale_day_of(path))
                            sale_date = pa.array([day] * batch.num_rows, pa.date32())
                            batch = batch.append_column("sale_date", sale_date)
                        yield batch.select(schema.names).cast(schema)


def latest_release(lake: Lake) -> str | None:
    """The newest CNPJ release with a published release manifest, or None."""
    selector = pafs.FileSelector(
        lake.path(layout.cnpj_zone_prefix("trusted")), allow_not_found=True
    )
    names = [
        info.base_name
        for info in lake.filesystem.get_file_info(selector)
        if info.type == pafs.FileType.Directory
        and RELEASE_PATTERN.fullmatch(info.base_name)
        and layout.has_manifest(lake, layout.cnpj_release_prefix("trusted", info.base_name))
    ]
    return max(names, default=None)


def release_tables(lake: Lake, release: str) -> dict[str, int]:
    """The tables (and rows) a published release holds, from its release manifest."""
    prefix = layout.cnpj_release_prefix("trusted", check_release(release))
    if not layout.has_manifest(lake, prefix):
        raise TrustedDataError(
            f"no published CNPJ release {release} in {lake.uri('')}: "
            f"{layout.manifest_key(prefix)} is missing (run `ingest cnpj --release {release}`)"
        )
    return layout.read_manifest(lake, prefix)["tables"]


def manifest_input(lake: Lake, spec: TableSpec, release: str) -> TrustedInput:
    """One CNPJ table exactly as its manifest lists it; every part checked to be there
    with the rows the manifest says (a footer read each, no data read)."""
    prefix = spec.source.format(release=release)
    manifest = layout.read_manifest(lake, prefix)
    files = []
    for part in manifest["parts"]:
        key = f"{prefix}/{part['key']}"
        if not lake.exists(key):
            raise TrustedDataError(
                f"{layout.manifest_key(prefix)} lists {part['key']}, which is not in the lake "
                f"({lake.uri(key)}); re-run `ingest cnpj --release {release}`"
            )
        found = _file_rows(lake, lake.path(key))
        if found != part["rows"]:
            raise TrustedDataError(
                f"{lake.uri(key)} holds {found} rows, its manifest says {part['rows']}"
            )
        files.append(lake.path(key))
    dataset = ds.dataset(files, filesystem=lake.filesystem, format="parquet")
    rows = {release: int(manifest["rows"])}
    return TrustedInput(spec, dataset, rows, files, release=release)


def _parquet_files(lake: Lake, key: str) -> list[str]:
    """Parquet files below ``key``, skipping ``_staging``-style and hidden entries."""
    start = len(key.strip("/")) + 1
    return [
        lake.path(obj.key)
        for obj in lake.list(key)
        if obj.key.endswith(".parquet")
        and not any(part.startswith((".", "_")) for part in obj.key[start:].split("/"))
    ]


def _file_rows(lake: Lake, path: str) -> int:
    with lake.filesystem.open_input_file(path) as source:
        return pq.ParquetFile(source).metadata.num_rows


def trusted_input(lake: Lake, spec: TableSpec, release: str | None = None) -> TrustedInput | None:
    """The trusted Parquet of one table, or None when the lake has none."""
    key = spec.source.format(release=release)
    files = _parquet_files(lake, key)
    if not files:
        return None
    rows: dict[str, int] = defaultdict(int)
    hive = False
    if spec.partition == "sale_date":
        first_schema = pq.read_schema(files[0], filesystem=lake.filesystem)
        hive = "sale_date" not in first_schema.names
        for path in files:
            day = _SALE_DAY.search(path)
            if day is None:
                raise ValueError(f"sales file outside a sale_date=YYYY-MM-DD/ folder: {path}")
            rows[day.group(1)] += _file_rows(lake, path)
    else:
        label = release if spec.partition == "release" else SNAPSHOT
        rows[label or SNAPSHOT] = sum(_file_rows(lake, path) for path in files)
    partitioning = None
    if hive:
        schema = pa.schema([("sale_date", pa.date32())])
        partitioning = ds.partitioning(schema, flavor="hive")
    dataset = ds.dataset(
        files,
        filesystem=lake.filesystem,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=lake.path(key) if hive else None,
    )
    return TrustedInput(spec, dataset, dict(rows), files, hive=hive, release=release)


def crosswalk_input() -> TrustedInput:
    """The IBGE<->Receita crosswalk from ``flows.municipalities``, as a loadable table."""
    rows = municipalities()
    table = pa.table(
        {
            "ibge_code": [m.ibge for m in rows],
            "tom_code": [m.tom for m in rows],
            "name": [m.name for m in rows],
            "uf": [m.uf for m in rows],
        }
    )
    return TrustedInput(CROSSWALK, ds.dataset(table), {SNAPSHOT: table.num_rows})


def discover(lake: Lake, release: str | None) -> list[TrustedInput]:
    """Every table to load: the CNPJ release (required), partner, public, crosswalk."""
    if release is None:
        raise TrustedDataError(
            f"the lake at {lake.uri('')} holds no published CNPJ release "
            "(no trusted/cnpj/<YYYY-MM>/_SUCCESS.json): check BIGD_LAKE, or run `ingest cnpj`"
        )
    tables = release_tables(lake, release)
    inputs = [
        manifest_input(lake, spec, release)
        for spec in CNPJ_TABLES
        if spec.source.rsplit("/", 1)[-1] in tables
    ]
    if not any(item.spec.name == "establishments" for item in inputs):
        raise TrustedDataError(f"no trusted establishments in CNPJ release {release}")
    for spec in (*PARTNER_TABLES, *PUBLIC_TABLES):
        found = trusted_input(lake, spec)
        if found is not None:
            inputs.append(found)
    inputs.append(crosswalk_input())
    return inputs
