"""Envelope, schemas and message builders: pure functions, no services."""

from __future__ import annotations

import json
import math

import jsonschema_rs
import pyarrow as pa
import pytest

from flows.config import SettingsError, load_settings
from flows.lake import Lake
from flows.publish import KINDS, AnalysisOutputs, InvalidMessage, Topics, run_messages, validate
from flows.publish.envelope import SCHEMA_DIR, load_schema, message_id, validator
from flows.publish.messages import potential_messages, prospect_messages, report_message
from tests.analysis_outputs import potential_table, prospects_table, write_outputs

RUN = "run-20261130-a1"


def test_every_topic_has_a_valid_json_schema_file():
    assert sorted(path.name for path in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{kind}.schema.json" for kind in KINDS
    )
    for kind in KINDS:
        schema = load_schema(kind)
        assert schema["properties"]["payload"]["type"] == "object"
        jsonschema_rs.meta.validate(schema)  # a well-formed draft-7 schema
        jsonschema_rs.validator_for(schema)


def test_validator_is_compiled_once():
    assert validator("potential") is validator("potential")


def test_message_id_is_deterministic_and_distinct():
    first = message_id("potential", RUN, "3550308|bar|Cerveja")
    assert first == message_id("potential", RUN, "3550308|bar|Cerveja")
    assert first != message_id("potential", "another-run", "3550308|bar|Cerveja")
    assert first != message_id("prospects", RUN, "3550308|bar|Cerveja")


def test_run_messages_one_per_output_row(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    expected = write_outputs(lake, "analysis/x", run_id=RUN).messages
    messages = list(run_messages(AnalysisOutputs.read(lake, "analysis/x"), Topics()))
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.kind] = counts.get(message.kind, 0) + 1
        validate(message.kind, json.loads(message.value))
        assert message.envelope["run_id"] == RUN
    assert counts == expected
    ids = [message.message_id for message in messages]
    assert len(set(ids)) == len(ids)
    again = list(run_messages(AnalysisOutputs.read(lake, "analysis/x"), Topics()))
    assert [message.message_id for message in again] == ids


def test_potential_is_keyed_by_region_and_nan_sales_become_null():
    table = potential_table(RUN)
    sales = table.column("observed_sales").to_pylist()
    sales[0] = math.nan  # a region whose customers bought nothing in the window
    table = table.set_column(
        table.schema.get_field_index("observed_sales"), "observed_sales", pa.array(sales)
    )
    messages = list(potential_messages(table, RUN, Topics()))
    first = messages[0]
    assert first.topic == "bigd.potential"
    assert first.key == table.column("ibge_code")[0].as_py()
    assert first.envelope["payload"]["observed_sales"] is None
    assert first.envelope["payload"]["scored_at"] == "2026-11-30T12:00:00Z"
    assert first.envelope["schema_version"] == 1


def test_a_nan_prediction_is_rejected_before_sending():
    table = potential_table(RUN)
    values = table.column("predicted_value").to_pylist()
    values[3] = math.nan
    broken = table.set_column(
        table.schema.get_field_index("predicted_value"), "predicted_value", pa.array(values)
    )
    with pytest.raises(InvalidMessage, match="predicted_value"):
        list(potential_messages(broken, RUN, Topics()))


def test_prospects_one_message_per_establishment_keyed_by_cnpj_hash_and_ranked():
    messages = list(prospect_messages(prospects_table(RUN, 3), RUN, Topics()))
    assert [m.envelope["payload"]["rank"] for m in messages] == [1, 2, 3]
    assert messages[0].key == messages[0].envelope["payload"]["cnpj_hash"]
    assert len({m.key for m in messages}) == 3
    for message in messages:
        validate("prospects", message.envelope)
        payload = message.envelope["payload"]
        assert payload["expected_revenue"] == pytest.approx(
            payload["p_convert"] * payload["expected_spend"]
        )


def test_invalid_envelope_names_the_problem():
    with pytest.raises(InvalidMessage, match="prospects message"):
        validate("prospects", {"schema_version": 1, "key": "k", "run_id": RUN})


def test_formats_are_checked_and_the_field_is_named():
    good = next(potential_messages(potential_table(RUN), RUN, Topics())).envelope
    validate("potential", good)
    for field, value, rule in [
        ("produced_at", "yesterday", "date-time"),
        ("message_id", "not-a-uuid", "does not match"),
    ]:
        with pytest.raises(InvalidMessage, match=f"at {field}: .*{rule}"):
            validate("potential", {**good, field: value})
    payload = {**good["payload"], "establishments": "12"}
    with pytest.raises(InvalidMessage, match=r"at payload/establishments: .*integer"):
        validate("potential", {**good, "payload": payload})


def test_report_message():
    report = {
        "notebook": "infographic",
        "report_date": "2026-11-30",
        "status": "failed",
        "analyst_html": "s3://lake/reports/a.html",
        "marketing_html": "s3://lake/reports/m.html",
        "manifest": "s3://lake/reports/manifest.json",
        "index": "s3://lake/reports/index.html",
        "headline": {},
        "error": "ValueError: boom",
    }
    message = report_message(report, RUN, Topics(reports="ops.reports"))
    assert message.topic == "ops.reports"
    assert message.key == "infographic"


def test_topic_names_are_settings():
    settings = load_settings(topic_potential="team.potential")
    assert Topics.from_settings(settings).potential == "team.potential"
    assert Topics.from_settings(settings).kind("team.potential") == "potential"
    with pytest.raises(SettingsError, match="BIGD_TOPIC_REPORTS"):
        load_settings(topic_reports="no spaces allowed")


def test_message_id_is_a_standard_uuid5():
    import uuid

    from flows.publish.envelope import MESSAGE_NAMESPACE

    for record in ("3550308|bar|Cerveja", "", "ção|😀"):
        expected = uuid.uuid5(MESSAGE_NAMESPACE, f"potential\x1f{RUN}\x1f{record}")
        assert message_id("potential", RUN, record) == str(expected)
