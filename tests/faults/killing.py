"""Run a piece of Big D in a child process and ``kill -9`` it at a chosen point.

The child runs ``python -c <code>``; the code calls :func:`stop_here` where the test
wants it to die: it writes a marker file and sleeps, and the parent, seeing the marker,
sends SIGKILL. Nothing in the child gets to clean up, exactly as after an OOM kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_MARKER = "BIGD_TEST_STOP_MARKER"


def stop_here() -> None:
    """In the child: tell the parent we reached the point, then wait to be killed."""
    Path(os.environ[STOP_MARKER]).write_text(str(os.getpid()))
    time.sleep(600)


def kill_when_stopped(code: str, marker: Path, env: dict[str, str], timeout: float = 60) -> None:
    """Run ``code`` in a child, SIGKILL it once it reached :func:`stop_here`."""
    child_env = {**os.environ, **env, STOP_MARKER: str(marker)}
    child = subprocess.Popen([sys.executable, "-c", code], env=child_env)
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"the child ended ({child.returncode}) before its stop")
            if time.monotonic() > deadline:
                raise AssertionError("the child never reached its stop")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
