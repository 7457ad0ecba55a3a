"""Property tests: the vectorised CPF/CNPJ check-digit detectors agree with the reference
definitions in ``flows.identifiers``, in every form (numeric and alphanumeric CNPJ,
formatted and bare, alone and inside text)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.identifiers import (
    cnpj_check_digits,
    cpf_check_digits,
    format_cnpj,
    format_cpf,
    is_valid_cnpj,
    is_valid_cpf,
)
from flows.scrub.detectors import detect_cnpj, detect_cpf, is_cnpj, is_cpf

DIGITS = "0123456789"
ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

cpf_bodies = st.text(DIGITS, min_size=9, max_size=9).filter(lambda body: len(set(body)) > 1)
numeric_cnpj_bodies = st.text(DIGITS, min_size=12, max_size=12).filter(lambda b: len(set(b)) > 1)
alnum_cnpj_bodies = st.text(ALNUM, min_size=12, max_size=12).filter(
    lambda body: any(c.isalpha() for c in body)
)
cnpj_bodies = st.one_of(numeric_cnpj_bodies, alnum_cnpj_bodies)
formatted = st.booleans()
fast = settings(max_examples=150, deadline=None)


def _corrupt(value: str, position: int, replacement: str) -> str:
    return value[:position] + replacement + value[position + 1 :]


@fast
@given(cpf_bodies, formatted)
def test_valid_cpf_is_accepted_formatted_or_bare(body, pretty):
    cpf = body + cpf_check_digits(body)
    shown = format_cpf(cpf) if pretty else cpf
    assert is_cpf(pa.array([shown])).tolist() == [True]
    masked, hits = detect_cpf(pa.array([f"MARIA DA SILVA {shown}"]))
    assert (masked.to_pylist(), hits) == (["MARIA DA SILVA [CPF]"], 1)


@fast
@given(cpf_bodies, st.integers(0, 10), st.sampled_from(DIGITS), formatted)
def test_cpf_with_one_changed_digit_matches_the_reference(body, position, digit, pretty):
    cpf = body + cpf_check_digits(body)
    corrupted = _corrupt(cpf, position, digit)
    shown = format_cpf(corrupted) if pretty else corrupted
    assert is_cpf(pa.array([shown])).tolist() == [is_valid_cpf(corrupted)]
    if corrupted != cpf and position >= 9:  # a changed check digit is always caught
        assert not is_cpf(pa.array([shown]))[0]


@fast
@given(cnpj_bodies, formatted)
def test_valid_cnpj_is_accepted_both_forms_formatted_or_bare(body, pretty):
    cnpj = body + cnpj_check_digits(body)
    shown = format_cnpj(cnpj) if pretty else cnpj
    assert is_cnpj(pa.array([shown])).tolist() == [True]
    masked, hits = detect_cnpj(pa.array([f"SOCIA {shown} LTDA"]))
    assert (masked.to_pylist(), hits) == (["SOCIA [CNPJ] LTDA"], 1)


@fast
@given(cnpj_bodies, st.integers(0, 13), st.sampled_from(ALNUM), formatted)
def test_cnpj_with_one_changed_character_matches_the_reference(body, position, char, pretty):
    cnpj = body + cnpj_check_digits(body)
    corrupted = _corrupt(cnpj, position, char)
    shown = format_cnpj(corrupted) if pretty else corrupted
    assert is_cnpj(pa.array([shown])).tolist() == [is_valid_cnpj(corrupted)]
    if corrupted != cnpj and position >= 12:  # a changed check digit is always caught
        assert not is_cnpj(pa.array([shown]))[0]


@fast
@given(st.lists(st.tuples(cpf_bodies, st.booleans(), st.booleans()), min_size=1, max_size=30))
def test_many_cpfs_in_one_column_are_each_judged_like_the_reference(items):
    values, expected = [], 0
    for body, valid, pretty in items:
        cpf = body + cpf_check_digits(body)
        if not valid:
            cpf = cpf[:10] + str((int(cpf[10]) + 1) % 10)
        values.append(f"X {format_cpf(cpf) if pretty else cpf} Y")
        expected += is_valid_cpf(cpf)
    masked, hits = detect_cpf(pa.array(values))
    assert hits == expected
    assert sum(value.count("[CPF]") for value in masked.to_pylist()) == expected


def test_single_corruptions_are_mostly_rejected():
    """Mod-11 misses a few changes (remainders 0 and 1 give the same digit); most are caught."""
    body = "123456789"
    cpf = body + cpf_check_digits(body)
    corrupted = [
        _corrupt(cpf, i, d) for i in range(11) for d in DIGITS if _corrupt(cpf, i, d) != cpf
    ]
    accepted = is_cpf(pa.array(corrupted))
    assert accepted.tolist() == [is_valid_cpf(value) for value in corrupted]
    assert accepted.sum() < 0.05 * len(corrupted)
