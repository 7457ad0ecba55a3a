"""Monthly food spending per family, per UF and partner category, from the POF microdata.

IBGE's method (the POF 2017-2018 tables of "despesa média mensal familiar"):

- product code = integer part of ``V9001 / 100`` (5 digits), mapped to a partner category
  through the catalog's ``category_map`` (derived from IBGE's tradutores);
- monthly expanded value = ``V8000_DEFLA x FATOR_ANUALIZACAO x PESO_FINAL / 12``; for
  ``DESPESA_INDIVIDUAL`` records of quadros other than 24 and 41 also ``x V9011`` (months);
- food at home comes from ``CADERNETA_COLETIVA`` (the 7-day diary), food away from home from
  ``DESPESA_INDIVIDUAL`` quadro 24;
- the mean per family divides by the sum of ``PESO_FINAL`` of the distinct families
  (consumption units: UF, ESTRATO_POF, TIPO_SITUACAO_REG, COD_UPA, NUM_DOM, NUM_UC) of
  ``MORADOR``, which has one record per person.

Everything streams: each batch is reduced with ``numpy.bincount`` into per UF x category sums,
so memory does not grow with the files.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pyarrow as pa

from flows.municipalities import UF_BY_IBGE_PREFIX
from flows.sources.public.catalog import Catalog, CategoryMap, DatasetEntry, member_stem
from flows.sources.public.errors import DatasetError
from flows.sources.public.fixed_width import read_member
from flows.sources.public.raw import UF_CODES, RawFile, numbers

FOOD_AWAY_QUADROS = (24,)  # DESPESA_INDIVIDUAL quadro 24: food and drink away from home
NOT_TIMES_MONTHS = (24, 41)  # quadros whose V8000 is not multiplied by V9011
FAMILY = ["UF", "ESTRATO_POF", "TIPO_SITUACAO_REG", "COD_UPA", "NUM_DOM", "NUM_UC"]
MEMBERS = ("CADERNETA_COLETIVA", "DESPESA_INDIVIDUAL", "MORADOR")
SPENDING = ["UF", "V9001", "V8000_DEFLA", "FATOR_ANUALIZACAO", "PESO_FINAL"]


def monthly_value(
    value: np.ndarray,
    annualisation: np.ndarray | float,
    weight: np.ndarray,
    quadro: np.ndarray | None = None,
    months: np.ndarray | None = None,
) -> np.ndarray:
    """IBGE's expanded monthly value of each record (R$ of January 2018)."""
    monthly = value * annualisation * weight / 12
    if quadro is not None and months is not None:
        times = ~np.isin(quadro, NOT_TIMES_MONTHS)
        monthly = np.where(times, monthly * months, monthly)
    return monthly


class _Totals:
    """Expanded monthly spending and record counts per UF x category, added batch by batch."""

    def __init__(self, category_map: CategoryMap) -> None:
        self.names = list(category_map.categories)
        self.lookup = np.full(100_000, -1, dtype=np.int64)
        for code, name in category_map.category_of_code.items():
            self.lookup[code] = self.names.index(name)
        size = UF_CODES * len(self.names)
        self.spending, self.records = np.zeros(size), np.zeros(size, dtype=np.int64)

    def add(self, uf: np.ndarray, v9001: np.ndarray, monthly: np.ndarray) -> None:
        product = v9001 // 100  # the 5-digit product code: integer division, not rounding
        inside = (product >= 0) & (product < len(self.lookup))
        category = np.where(inside, self.lookup[np.where(inside, product, 0)], -1)
        keep = (category >= 0) & ~np.isnan(monthly)
        key = uf[keep] * len(self.names) + category[keep]
        self.spending += np.bincount(key, monthly[keep], len(self.spending))
        self.records += np.bincount(key, minlength=len(self.records))


def pof_food_spending(entry: DatasetEntry, catalog: Catalog, raw: RawFile) -> pa.Table:
    """One row per UF x partner category with POF records: mean monthly spending per family."""
    assert catalog.category_map is not None  # the catalog model requires it for this method
    members = {member_stem(m): m for m in entry.read.members}
    missing = [stem for stem in MEMBERS if stem not in members]
    if missing:
        raise DatasetError(f"{entry.title}: the catalog must list members {', '.join(missing)}")
    totals = _Totals(catalog.category_map)
    with raw.open() as stream, zipfile.ZipFile(stream) as archive:

        def batches(stem: str, columns: list[str]):
            member = members[stem]
            where, line = f"{raw.file}:{member}", 1
            for batch in read_member(
                archive, member, catalog.layout(member), file=raw.file, columns=columns
            ):
                yield where, line, batch
                line += batch.num_rows

        for where, line, batch in batches("CADERNETA_COLETIVA", SPENDING):
            uf, v9001, value, annualisation, weight = _spending(batch, SPENDING, where, line)
            totals.add(uf, v9001, monthly_value(value, annualisation, weight))

        columns = [*SPENDING, "QUADRO", "V9011"]
        for where, line, batch in batches("DESPESA_INDIVIDUAL", columns):
            # Blank codes are reported before filtering, so the line number is the file's.
            quadro = numbers(batch, ["QUADRO", "UF", "V9001"], where, line)[0]
            batch = batch.filter(pa.array(np.isin(quadro, FOOD_AWAY_QUADROS)))
            uf, v9001, value, annualisation, weight = _spending(batch, SPENDING, where, line)
            months = batch.column("V9011").to_numpy(zero_copy_only=False).astype(float)
            quadro = batch.column("QUADRO").to_numpy()
            totals.add(uf, v9001, monthly_value(value, annualisation, weight, quadro, months))

        families = []
        for where, line, batch in batches("MORADOR", [*FAMILY, "PESO_FINAL"]):
            numbers(batch, ["UF", "PESO_FINAL"], where, line)  # blank values are an error
            unique = (
                pa.Table.from_batches([batch]).group_by(FAMILY).aggregate([("PESO_FINAL", "max")])
            )
            families.append(unique)
        morador = f"{raw.file}:{members['MORADOR']}"
    family_weight = _family_weights(families, morador)
    return _rows(totals, family_weight, morador)


def _spending(batch: pa.RecordBatch, columns: list[str], where: str, line: int) -> list[np.ndarray]:
    """UF, V9001 and the value factors; a blank value leaves its record out (as IBGE's
    ``na.rm``), but a blank UF or product code is an error."""
    uf, v9001 = numbers(batch, ["UF", "V9001"], where, line)
    rest = [batch.column(name).to_numpy(zero_copy_only=False) for name in columns[2:]]
    return [uf, v9001, *(np.asarray(values, dtype=float) for values in rest)]


def _family_weights(families: list[pa.Table], file: str) -> np.ndarray:
    """Sum of PESO_FINAL per UF over the distinct families (a family spans batches)."""
    weight = np.zeros(UF_CODES)
    if not families:
        return weight
    distinct = pa.concat_tables(families).group_by(FAMILY).aggregate([("PESO_FINAL_max", "max")])
    uf = distinct.column("UF").cast(pa.int64()).to_numpy()
    weight += np.bincount(uf, distinct.column("PESO_FINAL_max_max").to_numpy(), UF_CODES)
    return weight


def _rows(totals: _Totals, family_weight: np.ndarray, morador: str) -> pa.Table:
    count = len(totals.names)
    keys = np.flatnonzero(totals.records)
    uf_codes, categories = keys // count, keys % count
    for code in np.unique(uf_codes):
        uf_code = f"{code:02d}"
        if uf_code not in UF_BY_IBGE_PREFIX:
            raise DatasetError(f"{morador}: spending records of unknown UF code {uf_code}")
        if family_weight[code] <= 0:
            raise DatasetError(
                f"{morador}: the sum of PESO_FINAL of the families of UF {uf_code} is zero "
                "(expected the UF's families, since it has spending records)"
            )
    return pa.table(
        {
            "uf_code": [f"{code:02d}" for code in uf_codes],
            "uf": [UF_BY_IBGE_PREFIX[f"{code:02d}"] for code in uf_codes],
            "category": [totals.names[c] for c in categories],
            "monthly_spending_per_family_brl": totals.spending[keys] / family_weight[uf_codes],
            "families_weighted": family_weight[uf_codes],
            "records": totals.records[keys],
        }
    )
