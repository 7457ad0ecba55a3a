"""Where the real IBGE files are, and a rule for when they are not there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]  # the folder holding tests/
IBGE_DIR = REPO_ROOT.parent / "shared" / "ibge"


def real_ibge_file(name: str) -> Path:
    """A real IBGE file from ``<repo>/../shared/ibge`` (never copied into the repo).

    Absent on a developer machine: the test is skipped, saying why. Absent in CI (``CI=true``):
    the test fails, because CI must test the readers on the real bytes.
    """
    path = IBGE_DIR / name
    if path.is_file():
        return path
    reason = f"real IBGE file {path} is not available (see shared/ibge/README.md)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI must have it", pytrace=False)
    pytest.skip(reason)
