"""Property tests: the vectorised CPF/CNPJ check-digit detectors agree with the reference
definitions in ``flows.identifiers``, in every form (numeric and alphanumeric CNPJ,
formatted and bare, alone and inside text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pytest
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


@dataclass(frozen=True)
class Kind:
    """One identifier: its reference functions, its detectors and how it is masked."""

    bodies: st.SearchStrategy
    alphabet: str
    check_digits: Callable[[str], str]
    formatted: Callable[[str], str]
    is_valid: Callable[[str], bool]
    matches: Callable[[pa.Array], pa.Array]
    detect: Callable[[pa.Array], tuple[pa.Array, int]]
    text: str  # where the identifier sits, as a format string
    mask: str

    def draw_valid(self, data: st.DataObject) -> tuple[str, str]:
        """A random body and the valid identifier made of it."""
        body = data.draw(self.bodies)
        return body, body + self.check_digits(body)


KINDS = {
    "cpf": Kind(cpf_bodies, DIGITS, cpf_check_digits, format_cpf, is_valid_cpf, is_cpf,
                detect_cpf, "MARIA DA SILVA {}", "[CPF]"),
    "cnpj": Kind(cnpj_bodies, ALNUM, cnpj_check_digits, format_cnpj, is_valid_cnpj, is_cnpj,
                 detect_cnpj, "SOCIA {} LTDA", "[CNPJ]"),
}  # fmt: skip
each_kind = pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS)


@each_kind
@fast
@given(data=st.data(), pretty=formatted)
def test_a_valid_identifier_is_accepted_formatted_or_bare(kind, data, pretty):
    _, value = kind.draw_valid(data)
    shown = kind.formatted(value) if pretty else value
    assert kind.matches(pa.array([shown])).tolist() == [True]
    masked, hits = kind.detect(pa.array([kind.text.format(shown)]))
    assert (masked.to_pylist(), hits) == ([kind.text.format(kind.mask)], 1)


@each_kind
@fast
@given(data=st.data(), pretty=formatted)
def test_one_changed_character_is_judged_like_the_reference(kind, data, pretty):
    body, value = kind.draw_valid(data)
    position = data.draw(st.integers(0, len(value) - 1))
    corrupted = _corrupt(value, position, data.draw(st.sampled_from(kind.alphabet)))
    shown = kind.formatted(corrupted) if pretty else corrupted
    assert kind.matches(pa.array([shown])).tolist() == [kind.is_valid(corrupted)]
    if corrupted != value and position >= len(body):  # a changed check digit is always caught
        assert not kind.matches(pa.array([shown]))[0]


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
