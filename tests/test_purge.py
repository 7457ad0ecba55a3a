"""Retention purge of raw partner data: only expired ``raw/partner/`` objects go, on both
lake backends; dry runs change nothing; a second run deletes nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from flows.lake import Lake
from flows.purge import (
    PARTNER_RAW_PREFIX,
    find_expired,
    partition_date,
    purge_partner_raw,
    run_summary,
)

TODAY = dt.date(2026, 11, 28)
OLD, RECENT = "2026-09-01", "2026-11-20"  # 88 and 8 days before TODAY
LIFECYCLE = Path(__file__).parents[1] / "deployments" / "s3-lifecycle-partner-raw.json"

EXPIRED = [
    f"raw/partner/sales/{OLD}/sales.json",
    f"raw/partner/sales/{OLD}/sales-2.json",
    "raw/partner/establishments/2026-10-28/establishments.json",  # 31 days: just past 30
    f"raw/partner/sales/sale_date={OLD}/part-0.json",
]
KEPT_PARTNER = [
    f"raw/partner/sales/{RECENT}/sales.json",
    "raw/partner/categories/2026-10-29/categories.json",  # exactly 30 days: kept
]
OTHER_ZONES = [
    "raw/cnpj/2026-09/Empresas0.zip",
    f"raw/public/{OLD}/pof.csv",
    f"raw/partnership/{OLD}/x.json",  # a different source that only shares a prefix
    f"trusted/partner/sales/sale_date={OLD}/part-0.parquet",
    f"quarantine/partner/{OLD}/bad.json",
    f"reports/{OLD}/index.html",
    f"outbox/{OLD}/scores.jsonl",
    "state/partner/watermark.json",
]


def _fill(lake: Lake) -> dict[str, int]:
    keys = EXPIRED + KEPT_PARTNER + OTHER_ZONES
    for index, key in enumerate(keys):
        lake.write_bytes(key, b"x" * (10 + index))
    return {obj.key: obj.size for obj in lake.list()}


def _check_purge(lake: Lake) -> None:
    before = _fill(lake)

    dry = purge_partner_raw(lake, 30, dry_run=True, today=TODAY)
    assert {obj.key for obj in dry.expired} == set(EXPIRED)
    assert {obj.key: obj.size for obj in lake.list()} == before  # dry run changed nothing

    result = purge_partner_raw(lake, 30, today=TODAY)
    assert [(o.key, o.size) for o in result.expired] == [(o.key, o.size) for o in dry.expired]
    assert all(o.size == before[o.key] for o in result.expired)
    assert {o.age_from for o in result.expired} == {"partition"}
    after = {obj.key: obj.size for obj in lake.list()}
    assert after == {k: v for k, v in before.items() if k not in EXPIRED}
    assert result.kept == len(KEPT_PARTNER)
    summary = run_summary(result)
    assert [row["key"] for row in summary.rows] == sorted(EXPIRED)
    assert all(row["deleted"] for row in summary.rows)
    assert summary.totals == {
        "expired": len(EXPIRED),
        "bytes": sum(before[key] for key in EXPIRED),
        "kept": len(KEPT_PARTNER),
        "dry_run": False,
    }
    assert f"deleted {len(EXPIRED)} objects" in summary.line
    assert not any(row["deleted"] for row in run_summary(dry).rows)
    assert f"would delete {len(EXPIRED)} objects" in run_summary(dry).line

    again = purge_partner_raw(lake, 30, today=TODAY)
    assert again.expired == [] and {obj.key for obj in lake.list()} == set(after)


def test_purge_on_a_folder_lake(tmp_path):
    _check_purge(Lake.from_url(str(tmp_path / "lake")))


@pytest.mark.integration
def test_purge_on_s3(s3_bucket):
    endpoint, bucket = s3_bucket
    _check_purge(Lake.from_url(f"s3://{bucket}/bigd", endpoint))


def test_keys_without_a_date_partition_age_by_modification_time(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    lake.write_bytes("raw/partner/sales/old.json", b"old")
    lake.write_bytes("raw/partner/sales/new.json", b"new")
    forty_days_ago = time.time() - 40 * 86400
    os.utime(lake.local_path("raw/partner/sales/old.json"), (forty_days_ago, forty_days_ago))

    result = find_expired(lake, 30)
    assert [(o.key, o.age_from) for o in result.expired] == [
        ("raw/partner/sales/old.json", "modified")
    ]
    assert result.kept == 1
    assert lake.exists("raw/partner/sales/old.json")  # finding deletes nothing


def test_a_longer_retention_keeps_more(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    _fill(lake)
    assert len(find_expired(lake, 30, today=TODAY).expired) == len(EXPIRED)
    assert len(find_expired(lake, 100, today=TODAY).expired) == 0
    with pytest.raises(ValueError):
        find_expired(lake, 0, today=TODAY)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("raw/partner/sales/2026-03-16/sales.json", dt.date(2026, 3, 16)),
        ("raw/partner/sales/sale_date=2026-03-16/part-0.json", dt.date(2026, 3, 16)),
        ("raw/partner/sales/2026-13-45/sales.json", None),
        ("raw/partner/sales/2026-03-16.json", None),  # a file name is not a partition
        ("raw/partner/categories.json", None),
    ],
)
def test_partition_date(key, expected):
    assert partition_date(key) == expected


def test_lifecycle_rule_expires_only_raw_partner_after_30_days():
    rules = json.loads(LIFECYCLE.read_text())["Rules"]
    assert [(r["Filter"]["Prefix"], r["Expiration"]["Days"], r["Status"]) for r in rules] == [
        (PARTNER_RAW_PREFIX, 30, "Enabled")
    ]


@pytest.mark.integration
def test_lifecycle_rule_is_accepted_by_the_s3_api(s3_bucket):
    import boto3

    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=json.loads(LIFECYCLE.read_text())
    )
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Filter"]["Prefix"] == PARTNER_RAW_PREFIX
    assert rules[0]["Expiration"]["Days"] == 30


@pytest.mark.integration
def test_purge_flow_and_cli(prefect_harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import get_settings
    from flows.purge_flow import purge

    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    lake = Lake.from_url(str(tmp_path / "lake"))
    lake.write_bytes("raw/partner/sales/2020-01-01/sales.json", b"old sales")
    lake.write_bytes("trusted/partner/sales/sale_date=2020-01-01/part-0.parquet", b"trusted")

    dry = CliRunner().invoke(app, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "raw/partner/sales/2020-01-01/sales.json  9 bytes" in dry.output
    assert "would delete 1 objects, 9 bytes" in dry.output
    assert lake.exists("raw/partner/sales/2020-01-01/sales.json")

    summary = purge()
    assert [row["key"] for row in summary.rows] == ["raw/partner/sales/2020-01-01/sales.json"]
    assert [o.key for o in lake.list()] == [
        "trusted/partner/sales/sale_date=2020-01-01/part-0.parquet"
    ]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["purge"]))
        )
    assert any("raw/partner/sales/2020-01-01/sales.json" in str(a.data) for a in artifacts)
