"""The helper that finds the real IBGE files: skip on a laptop without them, fail in CI."""

from __future__ import annotations

import pytest

from tests.sources.public import ibge_files


def test_missing_real_file_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not available"):
        ibge_files.real_ibge_file("no-such-file.xls")


def test_missing_real_file_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        ibge_files.real_ibge_file("no-such-file.xls")
