"""CPF and CNPJ check digits against published examples."""

from __future__ import annotations

import pytest

from flows.identifiers import (
    cnpj_check_digits,
    cpf_check_digits,
    format_cnpj,
    format_cpf,
    is_valid_cnpj,
    is_valid_cpf,
    make_cnpj,
)


def test_known_cpf():
    assert cpf_check_digits("123456789") == "09"
    assert is_valid_cpf("123.456.789-09")
    assert is_valid_cpf("12345678909")
    assert not is_valid_cpf("12345678908")
    assert not is_valid_cpf("11111111111")
    assert format_cpf("12345678909") == "123.456.789-09"


def test_known_numeric_cnpj():
    assert cnpj_check_digits("112223330001") == "81"
    assert is_valid_cnpj("11.222.333/0001-81")
    assert not is_valid_cnpj("11.222.333/0001-82")
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"


def test_receita_alphanumeric_example():
    # The example published by the Receita Federal for the July 2026 format.
    assert cnpj_check_digits("12ABC34501DE") == "35"
    assert is_valid_cnpj("12.ABC.345/01DE-35")
    assert is_valid_cnpj("12abc34501de35")
    assert make_cnpj("12ABC345", "01DE") == "12ABC34501DE35"


@pytest.mark.parametrize("body", ["1234", "12ABC34501D!", "12345678901"])
def test_bad_bodies_are_refused(body):
    with pytest.raises(ValueError):
        cnpj_check_digits(body)


def test_matrix_check_digits_agree_with_the_scalar_definition():
    import numpy as np

    from flows.identifiers import cnpj_check_digit_matrix, cpf_check_digit_matrix

    rng = np.random.default_rng(5)
    cpf_bodies = rng.integers(0, 10, size=(500, 9))
    for body, check in zip(cpf_bodies, cpf_check_digit_matrix(cpf_bodies), strict=True):
        assert "".join(map(str, check)) == cpf_check_digits("".join(map(str, body)))
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    cnpj_bodies = rng.choice(alphabet, size=(500, 12))
    checks = cnpj_check_digit_matrix(cnpj_bodies.astype(np.int64) - 48)
    for body, check in zip(cnpj_bodies, checks, strict=True):
        assert "".join(map(str, check)) == cnpj_check_digits(body.tobytes().decode())
