"""policy.toml parsed with pydantic: fail closed, every error names its dataset and column,
and the action/detector names come from the one registry the engine also runs."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flows.scrub import PolicyError, load_policy, registry, scrub_table
from flows.scrub.policy import parse_policy

KEY = b"policy-test-key"


def _one_column(rule: dict, dataset: str = "d.x") -> dict:
    return {"version": "1", "datasets": {dataset: {"columns": {"c": rule}}}}


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"action": "erase", "reason": "x"}, "action must be one of"),
        ({"action": "keep"}, "needs a one-line reason"),
        ({"action": "keep", "reason": "x", "detectors": ["ssn"]}, "unknown detectors"),
        ({"action": "generalize", "reason": "x", "to": "year"}, "generalize needs"),
    ],
)
def test_malformed_policies_are_rejected(column, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(_one_column(column))


def test_a_replace_rule_must_name_a_kept_column():
    document = {
        "version": "1",
        "datasets": {
            "d.x": {
                "columns": {
                    "name": {"action": "drop", "reason": "x"},
                    "kind": {"action": "keep", "reason": "x"},
                },
                "replace": [
                    {
                        "column": "name",
                        "when_column": "kind",
                        "codes": ["2"],
                        "label": "P",
                        "pseudonym_of": ["kind"],
                        "reason": "x",
                    }
                ],
            }
        },
    }
    with pytest.raises(PolicyError, match="must be kept"):
        parse_policy(document)


def test_a_column_rule_outside_columns_is_refused_not_ignored():
    from flows.scrub.policy import PolicyError, parse_policy

    document = {
        "version": "1",
        "datasets": {"public.x": {"default": {"action": "keep", "reason": "r"}, "period": {}}},
    }
    with pytest.raises(PolicyError, match=r"public\.x: unknown keys \['period'\]"):
        parse_policy(document)


def test_every_problem_is_reported_at_once_naming_dataset_and_column():
    document = {
        "version": "1",
        "datasets": {
            "cnpj.socios": {"columns": {"nome_socio": {"action": "keep"}}},
            "partner.sales": {"columns": {"cnpj": {"action": "hash", "reason": "r", "to": "x"}}},
        },
    }
    with pytest.raises(PolicyError) as raised:
        parse_policy(document)
    message = str(raised.value)
    assert "cnpj.socios.nome_socio: every column needs a one-line reason" in message
    assert "partner.sales.cnpj: ['to'] do nothing with action 'hash'" in message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"action": "drop", "reason": "r", "detectors": []}, r"\['detectors'\] do nothing"),
        ({"action": "mask", "reason": "r", "hash_copy": True}, r"\['hash_copy'\] do nothing"),
        ({"action": "keep", "reason": "r", "hash_copy": "false"}, "valid boolean"),
        ({"action": "hash", "reason": "r", "normalize": "cpf"}, "normalize must be one of"),
        ({"reason": "r"}, "action must be one of"),
    ],
)
def test_options_an_action_does_not_take_are_refused(rule, message):
    with pytest.raises(PolicyError, match=rf"d\.x\.c: .*{message}"):
        parse_policy(_one_column(rule))


def test_a_replace_rule_needs_its_keys_and_takes_numeric_codes_as_text():
    columns = {
        "name": {"action": "keep", "reason": "r"},
        "kind": {"action": "keep", "detectors": [], "reason": "r"},
    }
    rule = {"column": "name", "when_column": "kind", "pseudonym_of": ["kind"], "reason": "r"}
    with pytest.raises(PolicyError, match=r"d\.x\.replace\[0\]: lacks 'label'"):
        parse_policy({"version": "1", "datasets": {"d.x": {"columns": columns, "replace": [rule]}}})
    document = {
        "version": "1",
        "datasets": {
            "d.x": {"columns": columns, "replace": [{**rule, "label": "P", "codes": [2135]}]}
        },
    }
    assert parse_policy(document).for_dataset("d.x").replace[0].codes == ("2135",)


def test_a_policy_without_version_is_refused():
    with pytest.raises(PolicyError, match="needs a version"):
        parse_policy({"datasets": {}})


def test_the_repo_policy_only_names_registered_actions_and_detectors():
    policy = load_policy()
    for dataset in policy.datasets.values():
        rules = [*dataset.columns.values(), *([dataset.default] if dataset.default else [])]
        for rule in rules:
            assert rule.action in registry.ACTIONS
            assert set(rule.detectors) <= set(registry.DETECTORS)


def test_a_detector_added_to_the_registry_is_accepted_by_the_policy_and_run_by_the_engine(
    monkeypatch,
):
    def detect_ticket(text: pa.Array) -> tuple[pa.Array, int]:
        import pyarrow.compute as pc

        hits = pc.sum(pc.count_substring(text, "TKT-42")).as_py() or 0
        return pc.replace_substring(text, "TKT-42", "[TICKET]"), hits

    ticket = registry.Detector("[TICKET]", detect_ticket, by_default=False)
    monkeypatch.setitem(registry.DETECTORS, "ticket", ticket)
    policy = parse_policy(_one_column({"action": "keep", "reason": "r", "detectors": ["ticket"]}))
    clean, report = scrub_table("d.x", pa.table({"c": ["see TKT-42 99"]}), KEY, policy=policy)
    assert clean.column("c").to_pylist() == ["see [TICKET] 99"]
    assert report.count(detector="ticket") == 1
