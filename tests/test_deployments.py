"""prefect.yaml points at real flows; the S3 lifecycle rule targets the restricted zone."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).parents[1]


def test_every_deployment_entrypoint_is_a_flow_with_its_parameters():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"]
    for deployment in config["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert isinstance(flow, Flow), deployment["name"]
        accepted = flow.parameters.properties
        assert set(deployment.get("parameters") or {}) <= set(accepted), deployment["name"]
        assert all(schedule["cron"] for schedule in deployment.get("schedules", []))


def test_lifecycle_rule_expires_only_raw_partner_data():
    rules = json.loads((ROOT / "deployments" / "s3-lifecycle-partner-raw.json").read_text())
    (rule,) = rules["Rules"]
    assert rule["Filter"]["Prefix"] == "raw/partner/"
    assert rule["Expiration"]["Days"] == 30
