"""Shared by the benchmarks: this process's own peak memory."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak RSS in MB.

    Linux keeps ``ru_maxrss`` across fork and exec, so a child started by a benchmark
    would report its parent's peak if that was higher; ``VmHWM`` belongs to the child's
    own address space, so it is read first.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
