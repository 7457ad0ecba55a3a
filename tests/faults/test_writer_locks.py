"""F5/F6: writers that must run alone (partner source, warehouse load, analysis of a
release) take the one lock primitive: a second run is refused in one line naming the
holder (or waits for it); a holder killed with -9 never blocks; the partner watermark is
written atomically."""

from __future__ import annotations

import json
import threading
import time

import pytest

from flows import layout
from flows.config import get_settings
from flows.lake import Lake
from flows.locks import lake_lock
from tests.faults.killing import kill_when_stopped

HOLDER = """
from flows import layout
from flows.lake import Lake
from flows.locks import lake_lock
from tests.faults.killing import stop_here

with lake_lock(Lake.from_url({lake!r}), layout.lock_key({name!r}), "x", "run-killed"):
    stop_here()
"""


@pytest.fixture
def lake(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGD_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("BIGD_LOCK_WAIT_SECONDS", "0")
    get_settings.cache_clear()
    return Lake.from_url(str(tmp_path / "lake"))


def cli(*arguments: str):
    from typer.testing import CliRunner

    from flows.cli import app

    return CliRunner().invoke(app, list(arguments))


def one_line(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.integration
def test_a_second_load_is_refused_in_one_line_naming_the_holder(prefect_harness, lake):
    with lake_lock(lake, layout.lock_key("warehouse"), "the warehouse", "run-holder"):
        result = cli("load")
    assert result.exit_code == 1
    text = one_line(result.output)
    assert "the warehouse is being written by run run-holder (host" in text
    assert "nothing was changed" in text
    assert "sqlalche.me" not in text and "IOException" not in text


@pytest.mark.integration
def test_a_second_partner_ingest_is_refused_and_a_killed_holder_never_blocks(
    prefect_harness, lake, tmp_path, monkeypatch
):
    from flows.sample.partner_api import PartnerApiServer
    from tests.partner_data import DAYS, write_partner_release
    from tests.sources.partner.conftest import KEY

    with PartnerApiServer(write_partner_release(tmp_path / "release"), key=KEY) as api:
        monkeypatch.setenv("BIGD_PARTNER_API_URL", api.url)
        monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
        get_settings.cache_clear()
        arguments = ("ingest", "partner", "--since", DAYS[0], "--until", DAYS[1])
        with lake_lock(lake, layout.lock_key("partner"), "the partner source", "run-holder"):
            refused = cli(*arguments)
        assert refused.exit_code == 1
        assert "the partner source is being ingested by run run-holder" in one_line(refused.output)
        assert api.requests == [] and not lake.list("trusted/partner")

        code = HOLDER.format(lake=str(tmp_path / "lake"), name="partner")
        kill_when_stopped(code, tmp_path / "stop", {})  # a holder dies with -9
        after_kill = cli(*arguments)
        assert after_kill.exit_code == 0, after_kill.output
        assert "24 sales over 2 days" in after_kill.output


def test_a_waiting_writer_gets_the_lock_when_the_holder_finishes(lake):
    key = layout.lock_key("warehouse")
    taken = threading.Event()

    def hold_briefly():
        with lake_lock(lake, key, "the warehouse", "run-first"):
            taken.set()
            time.sleep(1.0)

    first = threading.Thread(target=hold_briefly)
    first.start()
    taken.wait(10)
    started = time.monotonic()
    with lake_lock(lake, key, "the warehouse", "run-second", wait=30):
        waited = time.monotonic() - started
    first.join()
    assert waited > 0.2  # it did wait for the first, and then got the lock


def test_the_watermark_is_never_seen_half_written(lake, monkeypatch):
    """Readers racing a writer read the old or the new watermark, never a torn one."""
    import datetime as dt

    from flows.sources.partner.ingest import WATERMARK_KEY, read_watermark, write_watermark

    write_watermark(lake, dt.date(2026, 3, 1))
    stop = threading.Event()
    errors: list[Exception] = []

    def keep_writing():
        day = dt.date(2026, 3, 1)
        while not stop.is_set():
            day += dt.timedelta(days=1)
            write_watermark(lake, day if day < dt.date(2026, 11, 1) else dt.date(2026, 3, 1))

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(300):
            try:
                json.loads(lake.read_bytes(WATERMARK_KEY))
                read_watermark(lake)
            except Exception as error:  # a torn or missing file
                errors.append(error)
    finally:
        stop.set()
        writer.join()
    assert errors == []


FOREIGN_DUCKDB_HOLDER = """
import duckdb
from tests.faults.killing import stop_here

connection = duckdb.connect({path!r})  # e.g. an analyst's DuckDB shell left open
stop_here()
"""


@pytest.mark.integration
def test_a_warehouse_file_held_by_another_program_is_one_plain_line(
    prefect_harness, lake, tmp_path, monkeypatch, capfd
):
    import os
    import signal
    import subprocess
    import sys

    from flows import cli
    from tests.warehouse_fixtures import write_trusted_lake

    write_trusted_lake(tmp_path / "lake")  # the lake the `lake` fixture configured
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("BIGD_WAREHOUSE_URL", f"duckdb:///{path}")
    get_settings.cache_clear()
    marker = tmp_path / "holding"
    code = FOREIGN_DUCKDB_HOLDER.format(path=str(path))
    holder = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, "BIGD_TEST_STOP_MARKER": str(marker)}
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setattr(sys, "argv", ["bigd", "load"])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert exit_.value.code == 1
    output = capfd.readouterr()
    lines = (output.out + output.err).splitlines()
    failed = [line for line in lines if line.startswith("Failed:")]
    assert len(failed) == 1, output
    assert "Could not set lock" in failed[0] and "sqlalche.me" not in failed[0]


def test_database_errors_are_one_line_without_the_sqlalchemy_link():
    import duckdb
    from sqlalchemy.exc import OperationalError

    from flows.cli import _one_line

    orig = duckdb.IOException('IO Error: Could not set lock on file "w.duckdb": Conflicting')
    wrapped = OperationalError("SELECT 1", {}, orig)
    assert "sqlalche.me" in str(wrapped)
    text = _one_line(wrapped)
    assert text.startswith("IOException: IO Error: Could not set lock on file")
    assert "sqlalche.me" not in text and "\n" not in text
