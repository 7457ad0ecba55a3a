"""Fixtures of the CNPJ source's tests."""

from __future__ import annotations

import pytest

from flows.lake import Lake


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))
