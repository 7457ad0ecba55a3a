"""Brazil's municipalities: IBGE 7-digit code <-> Receita Federal TOM 4-digit code.

Real data from the MIT-licensed ``cidade-ibge-tom`` package (5,569 pairs). A current
Receita release lists a few more codes (recent municipalities, ``9707`` EXTERIOR): an
unmapped TOM code is not a bad row, it simply has no IBGE code.

Two quirks of the package are handled here: the state is taken from the IBGE code's
prefix (one label says ``-R`` for ``-RO``), and a TOM code listed for two cities
(``9557``: Porteirão-GO and Portelândia-GO) is left out of the crosswalk rather than
guessed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from cidade_ibge_tom.cidade import cidade as _CROSSWALK

# IBGE's first two digits of a municipality code are its state.
UF_BY_IBGE_PREFIX = {
    "11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO",
    "21": "MA", "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL",
    "28": "SE", "29": "BA", "31": "MG", "32": "ES", "33": "RJ", "35": "SP", "41": "PR",
    "42": "SC", "43": "RS", "50": "MS", "51": "MT", "52": "GO", "53": "DF",
}  # fmt: skip
UFS = tuple(sorted(UF_BY_IBGE_PREFIX.values()))
TOM_EXTERIOR = "9707"


@dataclass(frozen=True)
class Municipality:
    ibge: str
    tom: str
    name: str
    uf: str


@lru_cache(maxsize=1)
def municipalities() -> tuple[Municipality, ...]:
    """Every mapped municipality, sorted by IBGE code."""
    rows = []
    for (ibge, tom), label in _CROSSWALK.items():
        name = label.rpartition("-")[0]
        rows.append(Municipality(ibge=ibge, tom=tom, name=name, uf=UF_BY_IBGE_PREFIX[ibge[:2]]))
    return tuple(sorted(rows, key=lambda m: m.ibge))


@lru_cache(maxsize=1)
def ibge_by_tom() -> dict[str, str]:
    """TOM 4-digit code -> IBGE 7-digit code, without TOM codes that name two cities."""
    seen = Counter(m.tom for m in municipalities())
    return {m.tom: m.ibge for m in municipalities() if seen[m.tom] == 1}
