"""One run at a time per output: a lock in the lake, named by a key of ``flows.layout``.

The one lock primitive of Big D, taken by every writer that must run alone: a CNPJ
release (``layout.cnpj_lock_key``), the partner source, the warehouse (the load and an
analysis's mart rows) and the analysis of a release (``layout.lock_key``).

- Folder lake: an ``fcntl.flock`` on a file below ``state/``. The kernel drops the lock
  when its holder dies (even ``kill -9``), so a lock is never left behind by a crash.
- S3 lake: a lease object created with a conditional write (``If-None-Match: *``: only
  one writer can create it) and renewed by a heartbeat with ``If-Match`` on its ETag.
  A crashed holder's lease expires after ``ttl`` seconds and is then taken over, again
  with ``If-Match``, so two runs can never both believe they hold it. A holder that
  could not renew (paused past its ``ttl``) learns it at :meth:`Held.check`, before it
  publishes anything.

A second run waits up to ``wait`` seconds, then fails with :class:`LockHeld` naming the
holder (run id, host, pid, since when).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from flows import layout
from flows.lake import Lake

LEASE_TTL_SECONDS = 120.0
POLL_SECONDS = 0.5


class LockHeld(RuntimeError):
    """Another live run holds the lock."""


class LockLost(RuntimeError):
    """This run's lease expired and may now be someone else's: it must not publish."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, written into the lock so a refused run can name it."""

    run_id: str
    host: str
    pid: int
    since: str
    expires: float | None = None  # S3 leases only (epoch seconds)

    @classmethod
    def me(cls, run_id: str) -> Holder:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(run_id, socket.gethostname(), os.getpid(), now)

    def describe(self) -> str:
        return f"run {self.run_id} (host {self.host}, pid {self.pid}, since {self.since})"

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError):
            return None  # being written, or not ours: described as "unknown"


def _refused(what: str, holder: Holder | None, waited: float, refused: type[LockHeld], doing):
    who = holder.describe() if holder else "another run (holder not yet recorded)"
    return refused(
        f"{what} is {doing} by {who}; gave up after waiting {waited:.0f} s, nothing was changed"
    )


def holder_run_id() -> str:
    """The Prefect flow run this process runs (the holder a refused run is told about),
    or ``pid-<pid>`` outside a flow run. Prefect is asked only when a flow already loaded
    it: the lock is a library below the flows and never imports Prefect itself."""
    context = sys.modules.get("prefect.context")
    run = context.FlowRunContext.get() if context is not None else None
    flow_run = getattr(run, "flow_run", None)
    return str(getattr(flow_run, "id", None) or f"pid-{os.getpid()}")


class Held:
    """A lock this run holds."""

    def check(self) -> None:
        """Raise :class:`LockLost` if the lock is no longer ours."""

    def release(self) -> None: ...


class _FolderLock(Held):
    def __init__(self, fd: int):
        self.fd = fd

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _folder_lock(lake: Lake, key: str, what: str, me: Holder, wait: float, refused, doing):
    path = lake.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = Holder.parse(path.read_bytes())
                os.close(fd)
                raise _refused(what, holder, wait, refused, doing) from None
            time.sleep(POLL_SECONDS)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)
        return _FolderLock(fd)


class _S3Lease(Held):
    def __init__(self, client, bucket: str, key: str, me: Holder, etag: str, ttl: float):
        self.client, self.bucket, self.key = client, bucket, key
        self.me, self.etag, self.ttl = me, etag, ttl
        self.lost: str | None = None
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.etag = _put(self.client, self.bucket, self.key, self.me, self.ttl, self.etag)
            except Exception as error:  # any failure to renew: stop trusting the lease
                self.lost = f"{type(error).__name__}: {error}"
                return

    def check(self) -> None:
        if self.lost is not None or not self._beat.is_alive():
            raise LockLost(f"lease s3://{self.bucket}/{self.key} lost ({self.lost})")

    def release(self) -> None:
        self._stop.set()
        self._beat.join()
        if self.lost is None:
            with contextlib.suppress(Exception):  # expired anyway after its ttl
                self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)


def _put(client, bucket: str, key: str, me: Holder, ttl: float, etag: str | None) -> str:
    """Write the lease: create it (``etag`` None) or replace the version ``etag`` names."""
    body = json.dumps({**asdict(me), "expires": time.time() + ttl}).encode()
    condition = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": etag}
    return client.put_object(Bucket=bucket, Key=key, Body=body, **condition)["ETag"]


def _conflict(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _s3_lease(lake: Lake, key: str, what: str, me: Holder, wait: float, ttl: float, refused, doing):
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("s3", endpoint_url=lake.s3_endpoint_url)
    bucket, _, object_key = lake.path(key).partition("/")
    deadline = time.monotonic() + wait
    while True:
        try:
            etag = _put(client, bucket, object_key, me, ttl, None)
            return _S3Lease(client, bucket, object_key, me, etag, ttl)
        except ClientError as error:
            if not _conflict(error):
                raise
        try:
            current = client.get_object(Bucket=bucket, Key=object_key)
        except ClientError:
            continue  # released in between: try to create it again
        holder = Holder.parse(current["Body"].read())
        if holder is None or (holder.expires or 0) < time.time():
            # Expired (its run died): take it over, only if nobody else did meanwhile.
            try:
                etag = _put(client, bucket, object_key, me, ttl, current["ETag"])
                return _S3Lease(client, bucket, object_key, me, etag, ttl)
            except ClientError as error:
                if not _conflict(error):
                    raise
                continue
        if time.monotonic() >= deadline:
            raise _refused(what, holder, wait, refused, doing)
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def lake_lock(
    lake: Lake,
    key: str,
    what: str,
    run_id: str,
    wait: float = 0.0,
    refused: type[LockHeld] = LockHeld,
    ttl: float = LEASE_TTL_SECONDS,
    doing: str = "being ingested",
) -> Iterator[Held]:
    """Hold the lock ``key`` for the block; ``what`` names the output in messages
    ("<what> is <doing> by run ..."), ``refused`` is the error raised when another run
    holds it past ``wait`` seconds."""
    me = Holder.me(run_id)
    held = (
        _folder_lock(lake, key, what, me, wait, refused, doing)
        if lake.is_local
        else _s3_lease(lake, key, what, me, wait, ttl, refused, doing)
    )
    try:
        yield held
    finally:
        held.release()


class WarehouseLocked(LockHeld):
    """Another live run is writing the warehouse (a load, or an analysis's mart rows)."""


class AnalysisLocked(LockHeld):
    """Another live run is analysing the same release."""


def warehouse_lock(lake: Lake, wait: float) -> contextlib.AbstractContextManager[Held]:
    """Every write to the warehouse runs alone: DuckDB allows one writing process, and
    two loads swapping the same partitions would interleave on any engine."""
    key, run = layout.lock_key("warehouse"), holder_run_id()
    return lake_lock(lake, key, "the warehouse", run, wait, WarehouseLocked, doing="being written")


def analysis_lock(lake: Lake, release: str | None, wait: float):
    """One analysis of a release at a time (``None``: the latest release)."""
    name = release or "latest"
    key, what = layout.lock_key(f"analysis-{name}"), f"the analysis of release {name}"
    return lake_lock(lake, key, what, holder_run_id(), wait, AnalysisLocked, doing="being run")
