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
