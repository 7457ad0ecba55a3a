"""The policy engine: fail-closed policy, actions, pseudonyms that join, the report."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pyarrow as pa
import pytest

from flows.scrub import PolicyError, engine, load_policy, scrub_table
from flows.scrub.policy import parse_policy
from tests.scrub.test_canary import SCHEMAS

KEY = b"engine-test-key"


def _reference_hmac(text: str, key: bytes = KEY) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _table(dataset: str, **columns) -> pa.Table:
    """A table of ``dataset`` with the given columns; the others are null."""
    schema = SCHEMAS[dataset]
    rows = len(next(iter(columns.values())))
    return pa.table(
        {f.name: pa.array(columns.get(f.name, [None] * rows), f.type) for f in schema},
        schema=schema,
    )


# ---------------------------------------------------------------- the policy fails closed
def test_an_undeclared_column_stops_the_scrub_naming_dataset_and_column():
    table = _table("cnpj.empresas", cnpj_basico=["12345678"]).append_column(
        "email_do_dono", pa.array(["x@y.com"])
    )
    with pytest.raises(PolicyError, match=r"'email_do_dono' of dataset 'cnpj.empresas'"):
        scrub_table("cnpj.empresas", table, KEY)


def test_an_undeclared_dataset_stops_the_scrub():
    with pytest.raises(PolicyError, match=r"'partner\.customers'"):
        scrub_table("partner.customers", pa.table({"id": [1]}), KEY)


def test_public_datasets_keep_any_column_but_still_scan_text():
    table = pa.table({"NOME": ["LIGUE 11987654321"], "VALOR": [1.5]})
    clean, report = scrub_table("public.qualquer_coisa", table, KEY)
    assert clean.to_pydict() == {"NOME": ["LIGUE [TELEFONE]"], "VALOR": [1.5]}
    assert report.count(detector="phone") == 1


def test_mask_and_plain_hash_actions_of_a_custom_policy():
    policy = parse_policy(
        {
            "version": "test",
            "datasets": {
                "x.people": {
                    "columns": {
                        "nickname": {"action": "mask", "reason": "free text about a person"},
                        "login": {"action": "hash", "reason": "joins other tables"},
                    }
                }
            },
        }
    )
    table = pa.table({"nickname": ["Zé", None], "login": ["ze.silva", None]})
    clean, report = scrub_table("x.people", table, KEY, policy=policy)
    assert clean.to_pydict() == {
        "nickname": ["[REMOVIDO]", None],
        "login_hash": [_reference_hmac("ze.silva"), None],
    }
    assert (report.count(action="mask"), report.count(action="hash")) == (1, 1)


def test_the_repo_policy_declares_every_contract_column_with_a_reason():
    policy = load_policy()
    assert policy.version
    for dataset, schema in SCHEMAS.items():
        rules = policy.for_dataset(dataset)
        for name in schema.names:
            assert rules.rule_for(dataset, name).reason


# ---------------------------------------------------------------- actions
def test_partner_cnpj_hash_joins_the_registry_cnpj_hash():
    registry, _ = scrub_table(
        "cnpj.estabelecimentos",
        _table("cnpj.estabelecimentos", cnpj=["11222333000181", "12ABC34501DE35"]),
        KEY,
    )
    sales, _ = scrub_table(
        "partner.sales",
        _table("partner.sales", id=[1, 2], cnpj=["11.222.333/0001-81", "12abc34501de35"]),
        KEY,
    )
    assert registry["cnpj"].to_pylist() == ["11222333000181", "12ABC34501DE35"]  # kept
    assert "cnpj" not in sales.column_names
    assert sales["cnpj_hash"].to_pylist() == registry["cnpj_hash"].to_pylist()
    assert sales["cnpj_hash"].to_pylist() == [
        _reference_hmac("11222333000181"),
        _reference_hmac("12ABC34501DE35"),
    ]
    other_key, _ = scrub_table(
        "partner.sales", _table("partner.sales", cnpj=["11222333000181"]), b"k2"
    )
    assert other_key["cnpj_hash"][0] != sales["cnpj_hash"][0]


def test_estabelecimentos_drop_contacts_generalize_cep_and_leave_codes_alone():
    codes = {
        "cnpj_basico": ["11222333"],
        "cnpj_ordem": ["0001"],
        "cnpj_dv": ["81"],
        "cnpj": ["11222333000181"],
        "cnae_fiscal_principal": ["5611201"],
        "cnae_fiscal_secundaria": ["5611203,4711302,5620102,4729699"],
        "municipio": ["7107"],
        "municipio_ibge": ["3550308"],
        "uf": ["SP"],
        "pais": ["105"],
        "situacao_cadastral": ["02"],
    }
    table = _table(
        "cnpj.estabelecimentos",
        **codes,
        cep=["01310-100"],
        telefone_1=["32345678"],
        ddd_1=["11"],
        correio_eletronico=["maria@gmail.com"],
        numero=["1578"],
        complemento=["APTO 12"],
        bairro=["BELA VISTA"],
        data_inicio_atividade=[dt.date(2020, 5, 17)],
    )
    clean, report = scrub_table("cnpj.estabelecimentos", table, KEY)
    for name, values in codes.items():
        assert clean[name].to_pylist() == values, name
    assert clean["cep"].to_pylist() == ["01310"]
    assert clean["bairro"].to_pylist() == ["BELA VISTA"]
    assert clean["data_inicio_atividade"].to_pylist() == [dt.date(2020, 5, 17)]
    for dropped in ("telefone_1", "ddd_1", "correio_eletronico", "numero", "complemento", "fax"):
        assert dropped not in clean.column_names
    assert report.count(column="telefone_1", action="drop") == 1
    assert report.count(column="fax", action="drop") == 0  # null values are not counted
    assert report.count(action="mask") == 0


def test_individual_entrepreneurs_names_are_replaced_by_stable_pseudonyms():
    table = _table(
        "cnpj.empresas",
        cnpj_basico=["12345678", "87654321", "11222333"],
        razao_social=["MARIA DA SILVA 52998224725", "JOSE SOUZA", "PADARIA BOM PAO LTDA"],
        natureza_juridica=["2135", "4120", "2062"],
    )
    first, report = scrub_table("cnpj.empresas", table, KEY)
    again, _ = scrub_table("cnpj.empresas", table, KEY)
    names = first["razao_social"].to_pylist()
    assert names == again["razao_social"].to_pylist()
    assert names[0].startswith("EMPRESARIO INDIVIDUAL ") and len(names[0].split()[-1]) == 8
    assert names[0] != names[1] and names[1].startswith("EMPRESARIO INDIVIDUAL ")
    assert names[2] == "PADARIA BOM PAO LTDA"
    assert report.count(detector="person_owned", action="replace") == 2
    assert report.count(detector="cpf") == 0  # the CPF went with the replaced name


def test_natural_person_partners_and_representatives_are_never_kept_as_names():
    table = _table(
        "cnpj.socios",
        cnpj_basico=["12345678", "12345678", "12345678"],
        identificador_socio=["2", "1", "3"],
        nome_socio=["JOAO DA SILVA", "HOLDING XYZ SA", "JOHN SMITH"],
        cnpj_cpf_socio=["***123456**", "11222333000181", "***654321**"],
        representante_legal=["***111222**", None, None],
        nome_representante=["ANA PEREIRA", None, None],
        data_entrada_sociedade=[dt.date(2019, 7, 23), dt.date(2001, 1, 31), None],
    )
    clean, _ = scrub_table("cnpj.socios", table, KEY)
    names = clean["nome_socio"].to_pylist()
    assert names[1] == "HOLDING XYZ SA"
    assert names[0].startswith("SOCIO PESSOA FISICA ") and names[2].startswith(
        "SOCIO PESSOA FISICA "
    )
    assert not {"nome_representante", "representante_legal", "cnpj_cpf_socio"} & set(
        clean.column_names
    )
    assert clean["cnpj_cpf_socio_hash"][1].as_py() == _reference_hmac("11222333000181")
    assert clean["data_entrada_sociedade"].to_pylist() == [
        dt.date(2019, 7, 1),
        dt.date(2001, 1, 1),
        None,
    ]
    assert "JOAO" not in json.dumps(clean.to_pylist(), default=str)


def test_batches_dictionary_and_large_strings_give_the_same_result(monkeypatch):
    values = [
        f"LOJA {i} TEL 3234-56{i:02d}" if i % 2 else f"LOJA {i} DONO 529.982.247-25"
        for i in range(30)
    ]
    plain = pa.table({"NOME": pa.array(values, pa.string())})
    expected, _ = scrub_table("public.lojas", plain, KEY)
    assert expected["NOME"][0].as_py() == "LOJA 0 DONO [CPF]"
    monkeypatch.setattr(engine, "BATCH_ROWS", 7)
    for variant in (
        plain,
        pa.table({"NOME": pa.array(values, pa.large_string())}),
        pa.table({"NOME": pa.array(values, pa.string_view())}),
        pa.table({"NOME": pa.array(values).dictionary_encode()}),
    ):
        clean, report = scrub_table("public.lojas", variant, KEY)
        assert clean["NOME"].to_pylist() == expected["NOME"].to_pylist()
        assert (report.count(detector="phone"), report.count(detector="cpf")) == (15, 15)


def test_an_empty_table_keeps_the_scrubbed_schema():
    clean, report = scrub_table("partner.sales", SCHEMAS["partner.sales"].empty_table(), KEY)
    assert clean.num_rows == 0
    assert "cnpj_hash" in clean.column_names and "cnpj" not in clean.column_names
    assert report.rows["partner.sales"] == 0


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"long key " * 20])
def test_hmac_implementations_agree_with_the_standard_library(key):
    from benchmarks.bench_scrub import hmac_hex_duckdb  # the alternative it is measured against
    from flows.scrub.pseudonym import hmac_hex

    repeated = ["11222333000181", None, "12ABC34501DE35", "ação"] * 3000  # dictionary path
    distinct = [f"{i:014d}" for i in range(12_000)] + [None]  # all-distinct path
    for values in (repeated, distinct):
        expected = [None if v is None else _reference_hmac(v, key) for v in values]
        assert hmac_hex(pa.array(values), key).to_pylist() == expected
        assert hmac_hex_duckdb(pa.array(values), key).to_pylist() == expected
    with pytest.raises(ValueError, match="empty"):
        hmac_hex(pa.array(["x"]), b"")
