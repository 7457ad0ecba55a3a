"""A tiny POF microdata zip, hand-made in the published record layouts.

No real lines of CADERNETA_COLETIVA, DESPESA_INDIVIDUAL or MORADOR are available to this
project (only MORADOR_QUALI_VIDA is, in ../shared/ibge): these records are invented, and
written with the layouts IBGE publishes (positions and widths in flows/catalog/public.yaml,
from Documentacao_20230713.zip). Fields the method does not use are left blank.

Two UFs, four families:
    SP (35): A = UPA 350000011 dom 1 uc 1, PESO_FINAL 1000, 3 persons
             B = UPA 350000011 dom 2 uc 1, PESO_FINAL  500, 2 persons
    MA (21): C = UPA 210000022 dom 1 uc 1, PESO_FINAL  200, 2 persons
             D = UPA 210000022 dom 1 uc 2, PESO_FINAL  300, 1 person
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from flows.sample.fixed_width import format_records
from flows.sources.public.catalog import Catalog

FAMILIES = {  # family -> (UF, ESTRATO_POF, COD_UPA, NUM_DOM, NUM_UC, PESO_FINAL, persons)
    "A": ("35", 3501, "350000011", 1, 1, 1000.0, 3),
    "B": ("35", 3501, "350000011", 2, 1, 500.0, 2),
    "C": ("21", 2101, "210000022", 1, 1, 200.0, 2),
    "D": ("21", 2101, "210000022", 1, 2, 300.0, 1),
}
# CADERNETA_COLETIVA (food at home): family, V9001, V8000_DEFLA, FATOR_ANUALIZACAO
DIARY = [
    ("A", 6300199, 10.00, 52),  # Arroz: 63001 (99 must not round up to 63002)
    ("B", 6300201, 6.00, 52),  # Arroz: 63002
    ("A", 8300199, 12.00, 52),  # Cerveja: 83001
    ("A", 6600101, 99.00, 52),  # 66001 (group 1014 "Outros"): no partner category
    ("C", 6300101, 5.00, 52),  # Arroz
    ("D", 6300101, None, 52),  # Arroz with a blank value: left out
]
# DESPESA_INDIVIDUAL: family, QUADRO, V9001, V8000_DEFLA, FATOR_ANUALIZACAO, V9011
INDIVIDUAL = [
    ("B", 24, 2402601, 20.00, 52, None),  # Cerveja away from home (24026)
    ("D", 24, 2402601, 8.00, 52, 3),  # quadro 24: V9011 is not a factor
    ("A", 41, 8300101, 100.00, 1, None),  # not food away from home: left out
]


def _family_fields(families: list[str]) -> dict[str, list]:
    rows = [FAMILIES[f] for f in families]
    return {
        "UF": [r[0] for r in rows],
        "ESTRATO_POF": [r[1] for r in rows],
        "TIPO_SITUACAO_REG": [1] * len(rows),
        "COD_UPA": [r[2] for r in rows],
        "NUM_DOM": [r[3] for r in rows],
        "NUM_UC": [r[4] for r in rows],
        "PESO_FINAL": [r[5] for r in rows],
    }


def write_pof_zip(path: Path, catalog: Catalog, weights: dict[str, float] | None = None) -> Path:
    """Write the fixture zip; ``weights`` overrides families' PESO_FINAL in MORADOR."""
    weights = weights or {}
    persons = [f for f, row in FAMILIES.items() for _ in range(row[6])]
    morador = _family_fields(persons)
    morador["PESO_FINAL"] = [weights.get(f, FAMILIES[f][5]) for f in persons]
    morador["COD_INFORMANTE"] = [persons[: i + 1].count(f) for i, f in enumerate(persons)]
    diary = _family_fields([d[0] for d in DIARY])
    diary.update(
        QUADRO=[63] * len(DIARY),
        V9001=[d[1] for d in DIARY],
        V8000_DEFLA=[d[2] for d in DIARY],
        FATOR_ANUALIZACAO=[d[3] for d in DIARY],
    )
    individual = _family_fields([d[0] for d in INDIVIDUAL])
    individual.update(
        QUADRO=[d[1] for d in INDIVIDUAL],
        V9001=[d[2] for d in INDIVIDUAL],
        V8000_DEFLA=[d[3] for d in INDIVIDUAL],
        FATOR_ANUALIZACAO=[d[4] for d in INDIVIDUAL],
        V9011=[d[5] for d in INDIVIDUAL],
    )
    places = {"PESO_FINAL": 8, "FATOR_ANUALIZACAO": 0, "V9011": 0}
    members = {
        "MORADOR.txt": format_records(catalog.layouts["MORADOR"], morador, places),
        "CADERNETA_COLETIVA.txt": format_records(
            catalog.layouts["CADERNETA_COLETIVA"], diary, places
        ),
        "DESPESA_INDIVIDUAL.txt": format_records(
            catalog.layouts["DESPESA_INDIVIDUAL"], individual, places
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
