"""IBGE's POF "tradutores": product code -> published group, the source of the category map.

``Tradutores_20230713.zip`` holds one spreadsheet per theme; two define food:
``Tradutor_Alimentação.xls`` (levels 0-3, e.g. 1124 "Cervejas e chopes", and the groups of
food away from home, e.g. 206) and ``Tradutor_Aquisição_Alimentar.xls`` (finer, e.g. 24104
"Vinho"). The catalog's ``category_map`` lists, per partner category, the tradutor and groups it
takes and the resulting codes; ``derive_codes`` recomputes those codes from the
real zip, which is how the map was written and how a test proves it still matches.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

from python_calamine import CalamineWorkbook

from flows.sources.public.catalog import CategoryMap

# Member names in the zip are not UTF-8 ("Tradutor_Alimentaç╞o.xls"): match the ASCII prefix.
MEMBER_PREFIX = {
    "alimentacao": "Tradutor_Alimenta",
    "aquisicao_alimentar": "Tradutor_Aquisi",
}
Tradutor = dict[int, dict[int, int]]  # product code -> level -> group


def read_tradutor(zip_path: str | Path, name: str) -> Tradutor:
    """One tradutor of the zip as product code -> {level: group}."""
    with zipfile.ZipFile(zip_path) as archive:
        member = next(
            info for info in archive.infolist() if info.filename.startswith(MEMBER_PREFIX[name])
        )
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(archive.read(member)))
    rows = workbook.get_sheet_by_index(0).to_python()
    header = [unicodedata.normalize("NFC", str(cell)).strip() for cell in rows[0]]
    levels = {
        int(title.split("_")[1]): index
        for index, title in enumerate(header)
        if title.startswith("Nivel_")
    }
    tradutor: Tradutor = {}
    for row in rows[1:]:
        if isinstance(row[0], int | float) and row[0]:
            tradutor[int(row[0])] = {
                level: int(value)
                for level, index in levels.items()
                if isinstance(value := row[index], int | float)
            }
    return tradutor


def derive_codes(category_map: CategoryMap, zip_path: str | Path) -> dict[str, list[int]]:
    """Each mapped category's codes, recomputed from its tradutor and groups."""
    tradutores: dict[str, Tradutor] = {}
    derived: dict[str, list[int]] = {}
    for category, entry in category_map.categories.items():
        if entry.tradutor is None:
            continue
        if entry.tradutor not in tradutores:
            tradutores[entry.tradutor] = read_tradutor(zip_path, entry.tradutor)
        tradutor = tradutores[entry.tradutor]
        groups, exclude = set(entry.groups), set(entry.exclude)
        derived[category] = sorted(
            code
            for code, levels in tradutor.items()
            if groups & set(levels.values()) and code not in exclude
        )
    return derived
