"""Brazilian identifiers: CPF and CNPJ check digits, numeric and alphanumeric.

Scalar helpers are the reference definition; the ``*_check_digit_matrix`` functions do
the same arithmetic on numpy matrices for the scrubber and the sample generator.

CNPJ from July 2026: the first 12 positions are ``[0-9A-Z]`` and a character's
value is its ASCII code minus 48 (so digits keep their value); the two check
digits stay numeric. The old all-digit form is the same rule.
"""

from __future__ import annotations

import re

import numpy as np

CPF_LENGTH = 11
CNPJ_LENGTH = 14
CNPJ_BASE_LENGTH = 8

_CNPJ_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_BODY = re.compile(r"[0-9A-Z]{12}")
_CNPJ_FULL = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _mod11_digit(total: int) -> int:
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def _mod11_digits(totals: np.ndarray) -> np.ndarray:
    remainder = totals % 11
    return np.where(remainder < 2, 0, 11 - remainder)


def cpf_check_digit_matrix(body: np.ndarray) -> np.ndarray:
    """Check digits of an (n, 9) matrix of CPF body digit values -> (n, 2) digit values."""
    body = body.astype(np.int64)
    first = _mod11_digits(body @ np.arange(10, 1, -1))
    second = _mod11_digits(np.column_stack([body, first]) @ np.arange(11, 1, -1))
    return np.column_stack([first, second])


def cnpj_check_digit_matrix(body: np.ndarray) -> np.ndarray:
    """Check digits of an (n, 12) matrix of CNPJ body character values (ASCII code - 48)
    -> (n, 2) digit values."""
    body = body.astype(np.int64)
    first = _mod11_digits(body @ np.array(_CNPJ_WEIGHTS_1))
    second = _mod11_digits(np.column_stack([body, first]) @ np.array(_CNPJ_WEIGHTS_2))
    return np.column_stack([first, second])


def cpf_check_digits(body: str) -> str:
    """The two check digits of a 9-digit CPF body."""
    if len(body) != 9 or not body.isdigit():
        raise ValueError(f"a CPF body is 9 digits, got {body!r}")
    digits = [int(c) for c in body]
    first = _mod11_digit(sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)))
    digits.append(first)
    second = _mod11_digit(sum(d * w for d, w in zip(digits, range(11, 1, -1), strict=True)))
    return f"{first}{second}"


def is_valid_cpf(value: str) -> bool:
    """True for an 11-digit CPF (formatting allowed) with correct check digits."""
    digits = re.sub(r"[.\-\s]", "", value)
    if len(digits) != CPF_LENGTH or not digits.isdigit() or len(set(digits)) == 1:
        return False
    return cpf_check_digits(digits[:9]) == digits[9:]


def format_cpf(cpf: str) -> str:
    """``12345678909`` -> ``123.456.789-09``."""
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def cnpj_check_digits(body: str) -> str:
    """The two numeric check digits of a 12-character CNPJ body (digits or A-Z)."""
    body = body.upper()
    if not _CNPJ_BODY.fullmatch(body):
        raise ValueError(f"a CNPJ body is 12 characters of [0-9A-Z], got {body!r}")
    values = [ord(c) - 48 for c in body]
    first = _mod11_digit(sum(v * w for v, w in zip(values, _CNPJ_WEIGHTS_1, strict=True)))
    values.append(first)
    second = _mod11_digit(sum(v * w for v, w in zip(values, _CNPJ_WEIGHTS_2, strict=True)))
    return f"{first}{second}"


def normalize_cnpj(value: str) -> str:
    """Strip punctuation and upper-case: ``12.ABC.345/01DE-35`` -> ``12ABC34501DE35``."""
    return _NON_ALNUM.sub("", value).upper()


def is_valid_cnpj(value: str) -> bool:
    """True for a 14-character CNPJ, numeric or alphanumeric, formatted or bare."""
    cnpj = normalize_cnpj(value)
    if not _CNPJ_FULL.fullmatch(cnpj) or len(set(cnpj)) == 1:
        return False
    return cnpj_check_digits(cnpj[:12]) == cnpj[12:]


def format_cnpj(cnpj: str) -> str:
    """``11222333000181`` -> ``11.222.333/0001-81``."""
    return f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"


def make_cnpj(basico: str, ordem: str) -> str:
    """Full 14-character CNPJ from its 8-character base and 4-character order."""
    body = f"{basico}{ordem}".upper()
    return body + cnpj_check_digits(body)
