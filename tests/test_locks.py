"""The per-output lock: a kernel file lock on a folder lake, a conditional-write lease on S3."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from flows.lake import Lake
from flows.locks import LockHeld, LockLost, lake_lock

KEY = "state/cnpj/locks/2026-05.lock"


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


def test_a_held_folder_lock_refuses_a_second_holder_naming_the_first(lake):
    with (
        lake_lock(lake, KEY, "CNPJ release 2026-05", "run-a"),
        pytest.raises(LockHeld, match=r"2026-05 is being ingested by run run-a \(host "),
        lake_lock(lake, KEY, "CNPJ release 2026-05", "run-b"),
    ):
        pass
    with lake_lock(lake, KEY, "CNPJ release 2026-05", "run-b"):  # free once released
        pass


def test_a_waiting_run_gets_the_folder_lock_when_the_holder_ends(lake):
    released = threading.Event()

    def hold_briefly() -> None:
        with lake_lock(lake, KEY, "x", "run-a"):
            acquired.set()
            time.sleep(0.8)
        released.set()

    acquired = threading.Event()
    thread = threading.Thread(target=hold_briefly)
    thread.start()
    assert acquired.wait(10)
    with lake_lock(lake, KEY, "x", "run-b", wait=20):
        assert released.is_set()
    thread.join()


def test_a_killed_holder_leaves_no_folder_lock_behind(lake):
    script = textwrap.dedent(
        f"""
        import sys, time
        from flows.lake import Lake
        from flows.locks import lake_lock
        with lake_lock(Lake.from_url({lake.root!r}), {KEY!r}, "x", "doomed"):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match="run doomed"), lake_lock(lake, KEY, "x", "second"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with lake_lock(lake, KEY, "x", "after-the-crash"):
        pass


# ---- S3 lease ------------------------------------------------------------------------------


@pytest.fixture
def s3_lake(s3_bucket) -> Lake:
    endpoint, bucket = s3_bucket
    return Lake.from_url(f"s3://{bucket}/bigd", endpoint)


@pytest.mark.integration
def test_an_s3_lease_refuses_a_second_holder_and_is_free_after_release(s3_lake):
    with lake_lock(s3_lake, KEY, "CNPJ release 2026-05", "run-a"):
        lease = json.loads(s3_lake.read_bytes(KEY))
        assert lease["run_id"] == "run-a" and lease["expires"] > time.time()
        with (
            pytest.raises(LockHeld, match=r"being ingested by run run-a"),
            lake_lock(s3_lake, KEY, "CNPJ release 2026-05", "run-b", wait=1),
        ):
            pass
    assert not s3_lake.exists(KEY)
    with lake_lock(s3_lake, KEY, "CNPJ release 2026-05", "run-b"):
        pass


@pytest.mark.integration
def test_an_expired_s3_lease_is_taken_over(s3_lake):
    dead = {"run_id": "dead", "host": "h", "pid": 1, "since": "x", "expires": time.time() - 1}
    s3_lake.write_bytes(KEY, json.dumps(dead).encode())
    with lake_lock(s3_lake, KEY, "x", "alive"):
        assert json.loads(s3_lake.read_bytes(KEY))["run_id"] == "alive"


@pytest.mark.integration
def test_an_s3_lease_renewed_by_its_heartbeat_and_lost_when_taken(s3_lake):
    with lake_lock(s3_lake, KEY, "x", "slow", ttl=0.8) as held:
        first = json.loads(s3_lake.read_bytes(KEY))["expires"]
        time.sleep(0.6)  # past a few heartbeats (every ttl / 4)
        assert json.loads(s3_lake.read_bytes(KEY))["expires"] > first
        held.check()
        # Someone overwrote the lease (as a takeover after a long pause would): the next
        # renewal fails its If-Match, and the holder learns it before publishing.
        s3_lake.write_bytes(KEY, b'{"run_id": "other"}')
        time.sleep(0.6)
        with pytest.raises(LockLost):
            held.check()
