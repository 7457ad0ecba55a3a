"""Build each public dataset's trusted table from its raw file, as the catalog's ``method`` says.

``population`` reads the yearly estimates spreadsheet; ``ipm_nm`` computes IBGE's
non-monetary poverty index per UF from the POF member ``MORADOR_QUALI_VIDA``;
``pof_food_spending`` (in ``pof.py``) aggregates the POF spending records per UF and partner
category. Each takes the catalog entry, the catalog and the raw file, and returns an Arrow
table with the entry's readable column names.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.municipalities import UF_BY_IBGE_PREFIX
from flows.sources.public.catalog import Catalog, DatasetEntry
from flows.sources.public.errors import DatasetError
from flows.sources.public.fixed_width import read_member
from flows.sources.public.pof import pof_food_spending
from flows.sources.public.raw import UF_CODES, RawFile, numbers
from flows.sources.public.spreadsheet import read_sheet

# IBGE, "Evolução dos indicadores não monetários de pobreza e qualidade de vida no Brasil"
# (Estudos e Pesquisas 51, 2023): a person is poor when the transformed weighted count of
# deprivations exceeds this cut-off; the index is the weighted mean intensity, 0-100.
IPM_CUTOFF = 0.23023721634819
POF_PERIOD = "2017-2018"  # the microdata zip pinned in the catalog is POF 2017-2018's
BRASIL = "BR"


def population(entry: DatasetEntry, catalog: Catalog, raw: RawFile) -> pa.Table:
    """Every municipality of the estimates sheet with its 7-digit IBGE code and year."""
    assert entry.read.sheet is not None  # the catalog model requires it for spreadsheets
    with raw.open() as stream:
        sheet = read_sheet(stream, file=raw.file, sheet=entry.read.sheet, columns=entry.read.header)
    table = sheet.table
    for needed in ("uf_code", "municipality_code", "uf", "name", "population"):
        if needed not in table.column_names:
            raise DatasetError(f"{entry.title}: the catalog's header must name {needed!r}")
    year = reference_year(sheet.preamble)
    if year is None:
        raise DatasetError(
            f"{raw.file}, sheet {sheet.sheet!r}: no reference year in the title rows above "
            f"the header ({sheet.preamble!r})"
        )
    ibge = pc.binary_join_element_wise(table["uf_code"], table["municipality_code"], "")
    return pa.table(
        {
            "ibge_code": ibge,
            "uf": table["uf"],
            "name": table["name"],
            "population": table["population"],
            "reference_year": pa.array([year] * table.num_rows, pa.int16()),
        }
    )


def reference_year(preamble: list[str]) -> int | None:
    """The year of the title ("... DATA DE REFERÊNCIA EM 1º DE JULHO DE 2025")."""
    for line in preamble:
        years = re.findall(r"\b(?:19|20)\d{2}\b", line)
        if years:
            return int(years[-1])
    return None


def ipm_nm(entry: DatasetEntry, catalog: Catalog, raw: RawFile) -> pa.Table:
    """IPM-NM and the share of poor persons per UF and for Brasil, by IBGE's method."""
    member = entry.read.members[0]
    where = f"{raw.file}:{member}"
    persons, weight, deprivation, poor = (np.zeros(UF_CODES) for _ in range(4))
    with raw.open() as stream, zipfile.ZipFile(stream) as archive:
        columns = ["UF", "CONTAGEM_PONDERADA", "PESO_FINAL"]
        line = 1
        for batch in read_member(
            archive, member, catalog.layout(member), file=raw.file, columns=columns
        ):
            uf, count, person_weight = numbers(batch, columns, where, line)
            line += batch.num_rows
            value = np.expm1(count) / (np.e - 1)
            is_poor = value > IPM_CUTOFF
            intensity = np.where(is_poor, (value - IPM_CUTOFF) / (1 - IPM_CUTOFF), 0.0)
            persons += np.bincount(uf, minlength=UF_CODES)
            weight += np.bincount(uf, person_weight, UF_CODES)
            deprivation += np.bincount(uf, person_weight * intensity, UF_CODES)
            poor += np.bincount(uf, person_weight * is_poor, UF_CODES)
    rows: list[tuple[str, str, Any, Any, Any]] = [
        (BRASIL, BRASIL, weight.sum(), deprivation.sum(), poor.sum())
    ]
    for code in np.flatnonzero(persons):
        uf_code = f"{code:02d}"
        if uf_code not in UF_BY_IBGE_PREFIX:
            raise DatasetError(f"{where}: unknown UF code {uf_code}")
        rows.append(
            (uf_code, UF_BY_IBGE_PREFIX[uf_code], weight[code], deprivation[code], poor[code])
        )
    for _, uf_name, total, *_ in rows:
        if total <= 0:
            raise DatasetError(
                f"{where}: the sum of PESO_FINAL is zero for {uf_name} (expected positive weights)"
            )
    return pa.table(
        {
            "uf_code": [r[0] for r in rows],
            "uf": [r[1] for r in rows],
            "period": [POF_PERIOD] * len(rows),
            "ipm_nm": [100 * r[3] / r[2] for r in rows],
            "poor_share": [r[4] / r[2] for r in rows],
        }
    )


Method = Callable[[DatasetEntry, Catalog, RawFile], pa.Table]


def methods() -> dict[str, Method]:
    """The builders the catalog's ``method:`` names (``table`` is the plain CSV path)."""
    return {
        "population": population,
        "ipm_nm": ipm_nm,
        "pof_food_spending": pof_food_spending,
    }
