"""Work folders outside the lake that never outlive their run.

A run that must work on local files (papermill writes the executed notebook and the
output files to a folder) takes one with :func:`work_folder`: removed on every exit
path, failure included. A run killed with ``-9`` cannot clean up, so each folder holds
a lock file its run keeps ``flock``-ed; the kernel releases it when that process dies,
so the next run proves a leftover dead by taking its lock, and removes it. Nothing with
row-level data stays outside the lake's access control and retention.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".owner.lock"
log = logging.getLogger(__name__)


def _take(lock: Path) -> int | None:
    """The lock's descriptor if no live process holds it, else None."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def remove_dead(prefix: str, parent: Path | None = None) -> list[Path]:
    """Remove the ``prefix*`` folders whose run is dead (their lock is free)."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    for folder in parent.glob(f"{prefix}*"):
        fd = _take(folder / LOCK_FILE)
        if fd is None:
            continue  # alive, or not one of ours (no lock file): left alone
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    if removed:
        log.warning("removed %d work folders left by killed runs: %s", len(removed), removed)
    return removed


@contextlib.contextmanager
def work_folder(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A fresh folder ``prefix*`` (in the system temp folder), removed when the block ends
    however it ends; leftovers of killed runs with the same prefix are removed first."""
    remove_dead(prefix, parent)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
