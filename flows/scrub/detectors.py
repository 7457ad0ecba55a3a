"""Vectorised detectors of personal identifiers in text columns (Arrow compute + numpy).

Each detector takes a string array and returns the array with every hit replaced by a
token (``[EMAIL]``, ``[CNPJ]``, ``[CPF]``, ``[TELEFONE]``) and the number of hits.
Arrow's regex engine is RE2 (no look-arounds), so CPF and CNPJ work on "runs": maximal
stretches of digits (and, for CNPJ, letters) with their inner punctuation. A run is cut
out with a sentinel, validated with check digits on a numpy digit matrix, and only valid
runs are replaced. A run is a CPF only when the whole run is one: 11 digits inside a
14-digit CNPJ are part of a longer run and never taken for a CPF.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.identifiers import cnpj_check_digit_matrix, cpf_check_digit_matrix

# What a hit becomes; ``flows.scrub.registry.DETECTORS`` names the detectors and their order.
EMAIL_TOKEN, CNPJ_TOKEN, CPF_TOKEN, PHONE_TOKEN = "[EMAIL]", "[CNPJ]", "[CPF]", "[TELEFONE]"

# Rows with no two adjacent digits and no "@" cannot hold any identifier: skip them all.
ANY_CANDIDATE = r"[0-9][0-9]|@"
EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
# Phone: optional +55, optional DDD (with or without parentheses), 8 digits (landline,
# first digit 2-5) or 9 digits (mobile, first digit 9), usual separators; not glued to
# other digits nor preceded by a hyphen ("3234-5678 3234-5679" is not "5678 3234").
# RE2 has no look-arounds, so the characters around a phone are captured and put back.
# As a match consumes the character after it, a phone right after another one is found by
# a later pass; passes go from the longest form (+55 and DDD) to the shortest so that no
# shorter match leaves a "+55" or "(11)" behind, and the first passes of each form refuse
# "(" and "+" before a phone so that they stay inside it (the last accepts "(3234-5678)").
_PHONE_NUMBER = r"(?:9[ .\-]?[0-9]{4}|[2-5][0-9]{3})[ .\-]?[0-9]{4}"
_PHONE_DDD = r"\(?[1-9][0-9]\)?[ .\-]?"
_PHONE_COUNTRY = r"\+?55[ .\-]?"
_STRICT_LEAD, _LOOSE_LEAD, _TAIL = r"(^|[^0-9\-(+])", r"(^|[^0-9\-])", r"([^0-9]|$)"
PHONE_PASSES = tuple(
    lead + f"({body})" + _TAIL
    for body in (
        _PHONE_COUNTRY + _PHONE_DDD + _PHONE_NUMBER,
        _PHONE_DDD + _PHONE_NUMBER,
        _PHONE_NUMBER,
    )
    for lead in (_STRICT_LEAD, _STRICT_LEAD, _LOOSE_LEAD)
)
PHONE = _LOOSE_LEAD + f"((?:{_PHONE_COUNTRY})?(?:{_PHONE_DDD})?{_PHONE_NUMBER})" + _TAIL
CPF_HINT = r"[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}"
CPF_RUN = r"[0-9](?:[0-9./\-]*[0-9])?"
CPF_SHAPE = r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$"
CNPJ_HINT = r"[0-9A-Za-z]{2}\.?[0-9A-Za-z]{3}\.?[0-9A-Za-z]{3}/?[0-9A-Za-z]{4}-?[0-9]{2}"
CNPJ_RUN = r"[0-9A-Za-z](?:[0-9A-Za-z./\-]*[0-9])?"
CNPJ_SHAPE = (
    r"^(?:[0-9A-Z]{12}[0-9]{2}|[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}/[0-9A-Z]{4}-[0-9]{2})$"
)
SENTINEL = "\x1f"


def char_matrix(values: pa.Array, width: int) -> np.ndarray:
    """The bytes of equal-length ASCII strings as an (n, width) uint8 matrix, no copy per row."""
    values = values.cast(pa.large_string()) if values.type != pa.large_string() else values
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset :]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    start = offsets[0]
    return data[start : start + len(values) * width].reshape(len(values), width)


def valid_cpf_digits(digits: pa.Array) -> np.ndarray:
    """Boolean mask: which 11-digit strings are CPFs with correct check digits."""
    matrix = char_matrix(digits, 11).astype(np.int64) - 48
    expected = cpf_check_digit_matrix(matrix[:, :9])
    repeated = (matrix == matrix[:, :1]).all(axis=1)
    return (matrix[:, 9:] == expected).all(axis=1) & ~repeated


def valid_cnpj_chars(chars: pa.Array) -> np.ndarray:
    """Boolean mask: which 14-char ``[0-9A-Z]{12}[0-9]{2}`` strings have correct check digits."""
    matrix = char_matrix(chars, 14).astype(np.int64) - 48  # value = ASCII code - 48
    expected = cnpj_check_digit_matrix(matrix[:, :12])
    repeated = (matrix == matrix[:, :1]).all(axis=1)
    return (matrix[:, 12:] == expected).all(axis=1) & ~repeated


def _valid_runs(runs: pa.Array, shape: str, separators: str, validate) -> np.ndarray:
    """Which runs have the identifier's shape and, with separators removed, validate."""
    shaped = pc.match_substring_regex(runs, shape).to_numpy(zero_copy_only=False)
    result = np.zeros(len(runs), dtype=bool)
    if shaped.any():
        where = np.flatnonzero(shaped)
        result[where] = validate(pc.replace_substring_regex(runs.take(where), separators, ""))
    return result


def is_cpf(runs: pa.Array) -> np.ndarray:
    """Which runs are exactly one CPF (formatted or bare) with valid check digits."""
    return _valid_runs(runs, CPF_SHAPE, r"[.\-]", valid_cpf_digits)


def is_cnpj(runs: pa.Array) -> np.ndarray:
    """Which runs are exactly one CNPJ (numeric or alphanumeric, formatted or bare), valid."""
    return _valid_runs(pc.utf8_upper(runs), CNPJ_SHAPE, r"[./\-]", valid_cnpj_chars)


def _replace_valid_runs(
    text: pa.Array, hint: str, run: str, is_valid: Callable[[pa.Array], np.ndarray], token: str
) -> tuple[pa.Array, int]:
    """Replace every run of ``text`` that ``is_valid`` accepts by ``token``."""
    hinted = pc.match_substring_regex(text, hint).fill_null(False)
    rows = np.flatnonzero(hinted.to_numpy(zero_copy_only=False))
    if rows.size == 0:
        return text, 0
    subset = pc.replace_substring(text.take(rows), SENTINEL, " ")
    # Wrap every run in sentinels, then split: pieces alternate text, run, text, run, ...
    pieces = pc.split_pattern(
        pc.replace_substring_regex(subset, run, rf"{SENTINEL}\0{SENTINEL}"), SENTINEL
    )
    offsets = pieces.offsets
    flat = pieces.values
    starts = offsets.to_numpy()[:-1]
    position = np.arange(len(flat)) - np.repeat(starts, np.diff(offsets.to_numpy()))
    run_index = np.flatnonzero(position % 2 == 1)
    valid = is_valid(flat.take(run_index))
    hits = int(valid.sum())
    if hits == 0:
        return text, 0
    replace = np.zeros(len(flat), dtype=bool)
    replace[run_index[valid]] = True
    flat = pc.if_else(replace, pa.scalar(token, flat.type), flat)
    rebuilt = pc.binary_join(pa.ListArray.from_arrays(offsets, flat), pa.scalar("", flat.type))
    mask = np.zeros(len(text), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), rebuilt.cast(text.type)), hits


def detect_cpf(text: pa.Array) -> tuple[pa.Array, int]:
    """Mask CPFs with valid check digits, formatted or bare, also inside longer text."""
    return _replace_valid_runs(text, CPF_HINT, CPF_RUN, is_cpf, CPF_TOKEN)


def detect_cnpj(text: pa.Array) -> tuple[pa.Array, int]:
    """Mask valid CNPJs (numeric or alphanumeric, formatted or bare) inside text."""
    return _replace_valid_runs(text, CNPJ_HINT, CNPJ_RUN, is_cnpj, CNPJ_TOKEN)


def _token_count(text: pa.Array, token: str) -> int:
    return pc.sum(pc.count_substring(text, token)).as_py() or 0


def detect_email(text: pa.Array) -> tuple[pa.Array, int]:
    """Mask e-mail addresses."""
    hinted = pc.match_substring(text, "@").fill_null(False)
    if not pc.any(hinted).as_py():
        return text, 0
    subset = text.filter(hinted)
    masked = pc.replace_substring_regex(subset, EMAIL, EMAIL_TOKEN)
    # Hits are counted as tokens added: RE2 counting and replacing can disagree on overlaps.
    hits = _token_count(masked, EMAIL_TOKEN) - _token_count(subset, EMAIL_TOKEN)
    return pc.replace_with_mask(text, hinted, masked), hits


def detect_phone(text: pa.Array) -> tuple[pa.Array, int]:
    """Mask Brazilian phone numbers (+55, DDD, 8 or 9 digits, usual separators)."""
    token = PHONE_TOKEN
    hinted = pc.match_substring_regex(text, PHONE).fill_null(False)
    if not pc.any(hinted).as_py():
        return text, 0
    subset = text.filter(hinted)
    before = _token_count(subset, token)
    for pattern in PHONE_PASSES:
        subset = pc.replace_substring_regex(subset, pattern, rf"\1{token}\3")
    hits = _token_count(subset, token) - before
    return pc.replace_with_mask(text, hinted, subset), hits
