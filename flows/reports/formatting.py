"""Numbers the Brazilian way, for reports read by people: ``R$ 1.234,56``, ``12.345``,
``31,2%``. Thousands with a dot, decimals with a comma; a missing value is a dash."""

from __future__ import annotations

import math

MISSING = "—"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def numero(value: float | None, casas: int = 0) -> str:
    """``1234567.891, 2`` → ``1.234.567,89``."""
    if value is None or _missing(value):
        return MISSING
    text = f"{float(value):,.{casas}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def inteiro(value: float | None) -> str:
    """``12345`` → ``12.345``."""
    return numero(value, 0)


def brl(value: float | None, casas: int = 2) -> str:
    """``1234.56`` → ``R$ 1.234,56``; ``-5`` → ``-R$ 5,00``."""
    if value is None or _missing(value):
        return MISSING
    sign = "-" if float(value) < 0 else ""
    return f"{sign}R$ {numero(abs(float(value)), casas)}"


def percentual(value: float | None, casas: int = 1) -> str:
    """A share: ``0.312`` → ``31,2%``."""
    if value is None or _missing(value):
        return MISSING
    return f"{numero(float(value) * 100, casas)}%"


def compacto(value: float | None, moeda: bool = False) -> str:
    """Short labels for charts: ``1234567`` → ``1,2 mi``; ``12300`` → ``12,3 mil``."""
    if value is None or _missing(value):
        return MISSING
    number = float(value)
    prefix = "R$ " if moeda else ""
    sign = "-" if number < 0 else ""
    number = abs(number)
    for limit, suffix in ((1e9, " bi"), (1e6, " mi"), (1e3, " mil")):
        if number >= limit:
            return f"{sign}{prefix}{numero(number / limit, 1)}{suffix}"
    return f"{sign}{prefix}{numero(number, 0 if number >= 100 or not moeda else 2)}"
