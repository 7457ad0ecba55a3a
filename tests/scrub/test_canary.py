"""Canary test: plant known CPFs, e-mails, phones (and CNPJs where the policy looks for
them) in every text field of every dataset, scrub, and search every output byte.

Code columns (``detectors = []`` in the policy: CNAE, municipality, CNPJ parts, ...) get
realistic codes instead; ``test_only_code_columns_skip_the_detectors`` pins that list.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections import Counter
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from flows.identifiers import (
    cnpj_check_digits,
    cpf_check_digits,
    format_cnpj,
    format_cpf,
    is_valid_cpf,
)
from flows.scrub import load_policy, scrub_table
from flows.sources.cnpj.layout import ESTABELECIMENTOS, LAYOUTS
from flows.sources.cnpj.parse import add_establishment_columns
from flows.sources.partner.records import SCHEMAS as PARTNER_RECORD_SCHEMAS
from flows.sources.partner.tables import TABLES as PARTNER_TABLES
from flows.sources.public import load_catalog

KEY = b"canary-test-key"
ROWS = 90
S, D, DEC = pa.string(), pa.date32(), pa.decimal128(18, 2)


def _cnpj_schemas() -> dict[str, pa.Schema]:
    """What the CNPJ ingestion hands the scrub: each layout's typed columns, plus the ones it
    derives for establishments (the same function the ingestion calls)."""
    schemas: dict[str, pa.Schema] = {}
    for layout in LAYOUTS:
        typed = layout.schema().empty_table()
        if layout is ESTABELECIMENTOS:
            typed, _ = add_establishment_columns(typed)
        schemas.setdefault(layout.dataset, typed.schema)  # the domain tables share one
    return schemas


def _public_schemas() -> dict[str, pa.Schema]:
    """Every catalog dataset's trusted schema, under the name the ingestion scrubs it by."""
    return {f"public.{name}": entry.arrow_schema for name, entry in load_catalog().datasets.items()}


def _partner_schemas() -> dict[str, pa.Schema]:
    """The partner records as the ingestion types them (its own table map and schemas)."""
    return {table.dataset: PARTNER_RECORD_SCHEMAS[table.api] for table in PARTNER_TABLES}


# The columns each dataset arrives with: derived from the CNPJ layouts and the public
# catalog, so a column added there is planted here and must be declared in the policy.
SCHEMAS: dict[str, pa.Schema] = {**_cnpj_schemas(), **_partner_schemas(), **_public_schemas()}

# Columns that hold codes; detectors never run on them (no false positives on codes).
CODE_COLUMNS = {
    "cnpj.empresas": {"cnpj_basico", "natureza_juridica", "qualificacao_responsavel", "porte"},
    "cnpj.estabelecimentos": {
        "cnpj_basico", "cnpj_ordem", "cnpj_dv", "cnpj", "municipio_ibge",
        "identificador_matriz_filial", "situacao_cadastral", "motivo_situacao_cadastral", "pais",
        "cnae_fiscal_principal", "cnae_fiscal_secundaria", "uf", "municipio",
    },
    "cnpj.socios": {
        "cnpj_basico", "identificador_socio", "qualificacao_socio", "pais",
        "qualificacao_representante", "faixa_etaria",
    },
    "cnpj.simples": {"cnpj_basico", "opcao_simples", "opcao_mei"},
    "cnpj.domain": {"codigo"},
    "public.ipm_nm_uf": {"period"},  # "2008-2009" reads like a phone number
}  # fmt: skip
PERSON_CODES = {"cnpj.empresas": ("natureza_juridica", "2135", "2062"),
                "cnpj.socios": ("identificador_socio", "2", "1")}  # fmt: skip
PHONE_FORMATS = ["({ddd}) 9{a}-{b}", "+55 {ddd} 9{a}-{b}", "{ddd}9{a}{b}", "({ddd}) 3{c}-{b}",
                 "3{c}-{b}", "+55 ({ddd}) 9{a} {b}"]  # fmt: skip


class Planter:
    """Makes unique canary values and remembers every one planted."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.planted: list[tuple[str, str]] = []  # (kind, value)

    def cpf(self) -> str:
        body = f"{self.rng.randrange(10**8, 10**9):09d}"
        cpf = body + cpf_check_digits(body)
        value = self.rng.choice([cpf, format_cpf(cpf)])
        self.planted.append(("cpf", value))
        return value

    def email(self) -> str:
        value = f"canario.{self.rng.randrange(10**6)}@exemplo{self.rng.randrange(99)}.com.br"
        self.planted.append(("email", value))
        return value

    def phone(self) -> str:
        digits = {
            "ddd": self.rng.randrange(11, 99),
            "a": f"{self.rng.randrange(10**4):04d}",
            "b": f"{self.rng.randrange(10**4):04d}",
            "c": f"{self.rng.randrange(10**3):03d}",
        }
        value = self.rng.choice(PHONE_FORMATS).format(**digits)
        if is_valid_cpf(value):  # a bare 11-digit phone can also be a valid CPF: then it
            return self.phone()  # is masked as a CPF, so it would not count as a phone
        self.planted.append(("phone", value))
        return value

    def cnpj(self) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        body = "".join(self.rng.choice(alphabet[: self.rng.choice([10, 36])]) for _ in range(12))
        cnpj = body + cnpj_check_digits(body)
        value = self.rng.choice([cnpj, format_cnpj(cnpj)])
        self.planted.append(("cnpj", value))
        return value


def _code(column: str, row: int) -> str:
    if column == "cnpj":
        body = f"{10_000_000 + row:08d}0001"
        return body + cnpj_check_digits(body)
    if column.startswith("cnae"):
        return "5611201,5611203" if column.endswith("secundaria") else "5611201"
    return f"{row % 9 + 1}"


def plant_dataset(dataset: str, planter: Planter):
    """A table of ``dataset`` with canaries in every text field, and the expected report."""
    schema, policy = SCHEMAS[dataset], load_policy().for_dataset(dataset)
    person = PERSON_CODES.get(dataset)
    expected: Counter = Counter()
    columns: dict[str, list] = {}
    person_rows = {row for row in range(ROWS) if person and row % 3 == 0}
    for field in schema:
        name, rule = field.name, policy.rule_for(dataset, field.name)
        if person and name == person[0]:
            columns[name] = [person[1] if r in person_rows else person[2] for r in range(ROWS)]
        elif field.type == S and name in CODE_COLUMNS.get(dataset, set()):
            columns[name] = [_code(name, row) for row in range(ROWS)]
        elif field.type == S:
            replaced = any(rep.column == name for rep in policy.replace)
            values = []
            for row in range(ROWS):
                kinds = (
                    [("cpf", "email", "phone")[row % 3]] if row % 2 else ["cpf", "email", "phone"]
                )
                if "cnpj" in rule.detectors and row % 5 == 0:
                    kinds.append("cnpj")
                values.append(" ".join(f"TEXTO {getattr(planter, kind)()}" for kind in kinds))
                if rule.action == "keep":
                    if replaced and row in person_rows:
                        continue
                    for kind in kinds:
                        expected[(dataset, name, kind, "mask")] += 1
            columns[name] = values
            if replaced:
                expected[(dataset, name, "person_owned", "replace")] = len(person_rows)
        else:
            columns[name] = [_other_value(field.type, row) for row in range(ROWS)]
        if rule.action != "keep":
            action = f"generalize:{rule.to}" if rule.action == "generalize" else rule.action
            expected[(dataset, name, "policy", action)] = ROWS
        elif rule.hash_copy:
            expected[(dataset, name, "policy", "hash_copy")] = ROWS
    return pa.table(columns, schema=schema), expected


def _other_value(data_type: pa.DataType, row: int):
    if data_type == D:
        return dt.date(2024, 1 + row % 12, 1 + row % 28)
    if data_type == DEC:
        return Decimal(f"{row}.50")
    if pa.types.is_timestamp(data_type):
        return dt.datetime(2026, 3, 16, 10, 21, row % 60)
    if data_type == pa.bool_():
        return row % 2 == 0
    return row * 1.5 if pa.types.is_floating(data_type) else row


def _all_bytes(table: pa.Table) -> bytes:
    parquet, csv = io.BytesIO(), io.BytesIO()
    pq.write_table(table, parquet, compression="none")
    pacsv.write_csv(table, csv)
    return parquet.getvalue() + csv.getvalue()


def _forms(kind: str, value: str) -> set[str]:
    """The planted value and, for numbers, its bare digits (a leak may drop formatting)."""
    digits = re.sub(r"[^0-9]", "", value)
    forms = {value}
    if kind in ("cpf", "phone") and len(digits) >= 10:
        forms.add(digits[-11:] if kind == "phone" else digits)
    return forms


@pytest.mark.parametrize("dataset", sorted(SCHEMAS))
def test_no_planted_value_survives_and_counts_match(dataset):
    planter = Planter(seed=sorted(SCHEMAS).index(dataset))
    table, expected = plant_dataset(dataset, planter)
    text_columns = {field.name for field in table.schema if field.type == S}
    assert planter.planted or text_columns <= CODE_COLUMNS.get(dataset, set())
    raw_bytes = _all_bytes(table)
    # negative control: the same search finds every planted value before the scrub
    assert all(value.encode() in raw_bytes for _, value in planter.planted)

    clean, report = scrub_table(dataset, table, KEY)

    output = _all_bytes(clean)
    leaks = [
        (kind, form)
        for kind, value in planter.planted
        for form in _forms(kind, value)
        if form.encode() in output
    ]
    assert leaks == []
    rules = load_policy().for_dataset(dataset)
    scanned = [
        f.name
        for f in table.schema
        if f.type == S
        and rules.rule_for(dataset, f.name).detectors
        and rules.rule_for(dataset, f.name).action == "keep"
    ]
    assert (b"TEXTO" in output) == bool(scanned)  # the text around the canaries is kept
    counted = Counter({key: n for key, n in report.counts.items() if n})
    assert counted == +expected
    assert report.rows[dataset] == ROWS


def test_only_code_columns_skip_the_detectors():
    policy = load_policy()
    for dataset, schema in SCHEMAS.items():
        rules = policy.for_dataset(dataset)
        unscanned = {
            field.name
            for field in schema
            if field.type == S
            and rules.rule_for(dataset, field.name).action == "keep"
            and not rules.rule_for(dataset, field.name).detectors
        }
        assert unscanned == CODE_COLUMNS.get(dataset, set()), dataset
        for field in schema:
            rule = rules.rule_for(dataset, field.name)
            if field.type == S and rule.action == "keep" and rule.detectors:
                assert {"cpf", "email", "phone"} <= set(rule.detectors), (dataset, field.name)
