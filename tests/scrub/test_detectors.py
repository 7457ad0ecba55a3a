"""Detectors on concrete text: what is found, and what must never be taken for personal data."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest

from flows.identifiers import format_cnpj, format_cpf, is_valid_cpf, make_cnpj
from flows.scrub.detectors import detect_cpf, detect_email, detect_phone
from flows.scrub.engine import scan_text

ALL = ("email", "cnpj", "cpf", "phone")


def _scan(values: list[str | None], detectors=ALL) -> tuple[list[str | None], dict[str, int]]:
    masked, counts = scan_text(pa.array(values, pa.string()), detectors)
    return masked.to_pylist(), counts


def _cnpj_hiding_a_valid_cpf() -> str:
    """A real (valid) CNPJ whose first or last 11 digits also pass the CPF check."""
    for number in itertools.count(10_000_000):
        cnpj = make_cnpj(str(number), "0001")
        if is_valid_cpf(cnpj[:11]) or is_valid_cpf(cnpj[3:]):
            return cnpj
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MARIA DA SILVA 52998224725", "MARIA DA SILVA [CPF]"),
        ("MARIA DA SILVA 529.982.247-25", "MARIA DA SILVA [CPF]"),
        ("CPF:529.982.247-25;", "CPF:[CPF];"),
        ("52998224725", "[CPF]"),
        ("A 52998224725 B 11144477735", "A [CPF] B [CPF]"),
    ],
)
def test_cpf_found_formatted_bare_and_embedded(text, expected):
    masked, hits = detect_cpf(pa.array([text]))
    assert masked.to_pylist() == [expected]
    assert hits == expected.count("[CPF]")


@pytest.mark.parametrize(
    "text",
    [
        "MARIA DA SILVA 52998224724",  # wrong check digit
        "11111111111",  # repeated digits pass mod 11 but are not CPFs
        "529982247250",  # 12-digit run
        "052998224725",  # CPF digits inside a longer run
        "PROTOCOLO 529.982.247-25.1",  # run continues past the CPF
    ],
)
def test_cpf_lookalikes_are_left_alone(text):
    masked, hits = detect_cpf(pa.array([text]))
    assert (masked.to_pylist(), hits) == ([text], 0)


def test_a_company_cnpj_is_not_taken_for_a_cpf_even_when_11_of_its_digits_would_pass():
    cnpj = _cnpj_hiding_a_valid_cpf()
    texts = [f"FORNECEDOR {cnpj} LTDA", f"FORNECEDOR {format_cnpj(cnpj)}", cnpj]
    masked, counts = _scan(texts, ("email", "cpf", "phone"))
    assert masked == texts
    assert counts == {"email": 0, "cpf": 0, "phone": 0}
    # with the CNPJ detector on, the CNPJ itself is found, as one CNPJ
    masked, counts = _scan(texts, ALL)
    assert masked == ["FORNECEDOR [CNPJ] LTDA", "FORNECEDOR [CNPJ]", "[CNPJ]"]
    assert counts["cnpj"] == 3 and counts["cpf"] == 0


@pytest.mark.parametrize(
    "phone",
    [
        "(11) 98765-4321",
        "+55 11 98765-4321",
        "+55 (21) 3234-5678",
        "5511987654321",
        "11987654321",
        "(61)32345678",
        "98765-4321",
        "3234-5678",
        "32345678",
        "11 3234 5678",
    ],
)
def test_brazilian_phone_formats(phone):
    masked, hits = detect_phone(pa.array([f"LIGUE {phone} JA", f"{phone}"]))
    assert masked.to_pylist() == ["LIGUE [TELEFONE] JA", "[TELEFONE]"]
    assert hits == 2


def test_adjacent_phones_are_all_found_and_counted():
    masked, hits = detect_phone(pa.array(["3234-5678 3234-5679 3234-5670 (11) 98765-4321"]))
    assert masked.to_pylist() == ["[TELEFONE] [TELEFONE] [TELEFONE] [TELEFONE]"]
    assert hits == 4


def test_emails_are_masked_and_counted():
    text = "Contato: Maria.Silva+loja@Gmail.com.br ou joao_1@empresa.com"
    masked, hits = detect_email(pa.array([text, "sem arroba", None]))
    assert masked.to_pylist() == ["Contato: [EMAIL] ou [EMAIL]", "sem arroba", None]
    assert hits == 2


@pytest.mark.parametrize(
    "text",
    [
        "RUA SETE DE SETEMBRO",
        "5611201,5611203,4711302",  # CNAE list
        "CEP 01310-100",
        "NUMERO 1234",
        "DATA 2024-01-15",
        "LOTE 12 QUADRA 7",
        "KM 23,5",
        "1.234.567,89",
    ],
)
def test_ordinary_text_and_numbers_are_not_personal(text):
    masked, counts = _scan([text])
    assert masked == [text]
    assert sum(counts.values()) == 0


def test_mixed_text_keeps_everything_but_the_identifiers():
    cpf = "52998224725"
    text = f"JOSE {format_cpf(cpf)} jose@x.com (11) 98765-4321 RUA 7 CNAE 5611201"
    masked, counts = _scan([text, None, ""])
    assert masked == ["JOSE [CPF] [EMAIL] [TELEFONE] RUA 7 CNAE 5611201", None, ""]
    assert counts == {"email": 1, "cnpj": 0, "cpf": 1, "phone": 1}
