"""Least-privilege IAM for the lake: the repo's policy documents, rendered for one bucket.

``deployments/iam/s3-<role>.json`` are written once with two placeholders: ``{{bucket}}``
and ``{{root}}`` (the lake's key prefix inside the bucket, ``""`` or ``"bigd/"``), so the
same documents serve ``s3://my-lake`` and ``s3://shared-bucket/bigd``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

IAM_DIR = Path(__file__).resolve().parent.parent / "deployments" / "iam"
ROLES = ("pipeline", "analyst", "marketing")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def lake_location(lake_url: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` -> ``(bucket, "prefix/")`` (root ``""`` without a prefix)."""
    if not lake_url.startswith("s3://"):
        raise ValueError(f"IAM policies need an S3 lake (s3://bucket[/prefix]): {lake_url!r}")
    bucket, _, prefix = lake_url.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(f"not an S3 bucket name: {bucket!r}")
    prefix = prefix.strip("/")
    if any(char in prefix for char in "*?{}"):
        raise ValueError(f"the lake prefix may not contain wildcards or braces: {prefix!r}")
    return bucket, f"{prefix}/" if prefix else ""


def render_policy(role: str, lake_url: str) -> dict:
    """The S3 policy document of ``role`` for the lake at ``lake_url``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    bucket, root = lake_location(lake_url)
    text = (IAM_DIR / f"s3-{role}.json").read_text(encoding="utf-8")
    text = text.replace("{{bucket}}", bucket).replace("{{root}}", root)
    if "{{" in text:
        raise ValueError(f"s3-{role}.json has an unknown placeholder")
    return json.loads(text)
