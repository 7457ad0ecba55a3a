"""Least-privilege IAM for the lake: the repo's policy documents, rendered for one bucket.

``deployments/iam/s3-<role>.json`` are written once with two placeholders: ``{{bucket}}``
and ``{{root}}`` (the lake's key prefix inside the bucket, ``""`` or ``"bigd/"``), so the
same documents serve ``s3://my-lake`` and ``s3://shared-bucket/bigd``.
"""

from __future__ import annotations

import json
import logging
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


# Warehouse grants. sqlglot models GRANT/REVOKE on a schema or an object; the other three
# Redshift forms we use become opaque commands, so each is checked against its grammar
# here. All five forms mean the same in PostgreSQL (the tests' stand-in for Redshift), so
# the translation is sqlglot's for the modelled ones and the identity for the others.
WAREHOUSE_FILES = ("redshift_groups.sql", "redshift_grants.sql")
_NAME = r"[a-z_][a-z0-9_]*"
_PRIVILEGES = (
    r"(?:ALL|SELECT|INSERT|UPDATE|DELETE|REFERENCES)(?:\s*,\s*(?:SELECT|INSERT|UPDATE|DELETE))*"
)
COMMAND_FORMS = (
    re.compile(rf"CREATE GROUP {_NAME}"),
    re.compile(rf"GRANT {_PRIVILEGES} ON ALL TABLES IN SCHEMA {_NAME} TO GROUP {_NAME}"),
    re.compile(
        rf"ALTER DEFAULT PRIVILEGES (?:FOR USER {_NAME} )?IN SCHEMA {_NAME} "
        rf"GRANT {_PRIVILEGES} ON TABLES TO GROUP {_NAME}"
    ),
)


def warehouse_grants(
    dialect: str = "redshift", files: tuple[str, ...] = WAREHOUSE_FILES
) -> list[str]:
    """The statements of the warehouse IAM files, parsed as Redshift SQL, for ``dialect``
    (``redshift`` or ``postgres``); a statement of no known form is an error."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    statements = []
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # "falling back to a Command" is expected here
    try:
        parsed = {
            name: sqlglot.parse(
                (IAM_DIR / name).read_text(encoding="utf-8"),
                read="redshift",
                error_level=ErrorLevel.RAISE,
            )
            for name in files
        }
    finally:
        sqlglot_logger.setLevel(level)
    for name, file_statements in parsed.items():
        for statement in file_statements:
            if statement is None:
                continue
            if isinstance(statement, exp.Grant | exp.Revoke):
                statements.append(statement.sql(dialect=dialect, comments=False))
                continue
            text = " ".join(statement.sql(dialect="redshift", comments=False).split())
            if not isinstance(statement, exp.Command) or not any(
                form.fullmatch(text) for form in COMMAND_FORMS
            ):
                raise ValueError(f"{name}: not a known Redshift grant form: {text}")
            statements.append(text)
    return statements
