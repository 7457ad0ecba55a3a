"""The S3 lifecycle rule targets the restricted zone. (prefect.yaml is tested in
tests/deployments/: defaults, cadence, and a real Prefect server.)"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_lifecycle_rule_expires_only_raw_partner_data():
    rules = json.loads((ROOT / "deployments" / "s3-lifecycle-partner-raw.json").read_text())
    (rule,) = rules["Rules"]
    assert rule["Filter"]["Prefix"] == "raw/partner/"
    assert rule["Expiration"]["Days"] == 30
