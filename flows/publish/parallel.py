"""Sending from several processes, for large runs.

kafka-python's ``send()`` is pure Python (record encoding, accumulator, futures): one
process tops out near 20,000-30,000 small messages/s on this machine however the
producer is tuned, below the 30,000 msg/s target once envelopes are built and validated
too. So the calling process builds and validates the messages and hands them, in
chunks, to worker processes that each own an idempotent producer.

Placement and order are kept: the partition is chosen here with Kafka's own default
partitioner (murmur2 of the key, as every Kafka client does), and each *key* belongs to
exactly one worker, which sends that key's messages in order. Kafka orders messages per
partition and consumers rely on it per key; dealing out keys rather than partitions keeps
the workers even (3 partitions over 2 workers gave one worker two thirds of the work).
A worker says when its producer is connected; until then its chunks wait here, so
building never stops for a worker still starting (a feeder thread instead lost more to
the GIL than it saved). Guarantees do not change: each worker keeps every future, flushes
and checks them all, and reports only acknowledged counts; any failure anywhere fails
the whole publish.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import traceback
from collections.abc import Iterable
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from kafka.partitioner.default import murmur2

if TYPE_CHECKING:  # a worker imports this module: only kafka-python, nothing heavy
    from flows.publish.envelope import Message

CHUNK = 2_000
ABORT = "abort"
READY = "ready"


def placement(key: bytes, partitions: int, workers: int) -> tuple[int, int]:
    """The key's partition (Kafka's default: murmur2, as the Java client and kafka-python
    compute it) and the worker that sends all its messages."""
    hashed = murmur2(key) & 0x7FFFFFFF
    return hashed % partitions, hashed % workers


def _worker(servers, producer_config, flush_timeout, connection) -> None:
    """Receive chunks until ``None``; send, flush, check every future; report back."""
    from kafka import KafkaProducer

    counts: dict[tuple[str, str], int] = {}
    failures: list[str] = []
    producer = None
    try:
        producer = KafkaProducer(bootstrap_servers=servers, **producer_config)
        connection.send(READY)
        sent = []
        while (chunk := connection.recv()) not in (None, ABORT):
            for run_id, topic, partition, key, value in chunk:
                future = producer.send(topic, key=key, value=value, partition=partition)
                sent.append((run_id, topic, key, future))
        if chunk == ABORT:  # the caller failed (e.g. an invalid message): send no more
            producer.close(timeout=0)
            producer = None
            failures.append("aborted by the caller")
            return
        producer.flush(timeout=flush_timeout)
        for run_id, topic, key, future in sent:
            if future.succeeded():
                counts[(run_id, topic)] = counts.get((run_id, topic), 0) + 1
            else:
                failures.append(f"{topic}/{key.decode()}: {future.exception or 'no answer'!r}")
    except Exception as error:
        failures.append("".join(traceback.format_exception_only(error)).strip())
    finally:
        if producer is not None:
            producer.close(timeout=10)
        with suppress(OSError):  # the caller is gone (killed): nobody to tell
            connection.send((counts, failures))
        connection.close()


def start_worker(servers, producer_config, flush_timeout) -> tuple[Connection, subprocess.Popen]:
    """A fresh ``python -m flows.publish.parallel`` with one end of a socket pair.

    Not ``multiprocessing``'s spawn: that re-imports the caller's main module in the
    child (the ``bigd`` script imports the whole command line, a benchmark its own
    imports), 0.5-0.7 s of CPU per worker against ~0.25 s for kafka-python alone; and
    not fork: a forked child inherits kafka-python's and Prefect's threads half-alive
    (seen as batches expiring unsent)."""
    parent_end, child_end = multiprocessing.Pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.publish.parallel", str(child_end.fileno())],
        pass_fds=[child_end.fileno()],
        stdin=subprocess.DEVNULL,
    )
    child_end.close()
    parent_end.send((servers, producer_config, flush_timeout))
    return parent_end, process


def send_in_processes(
    messages: Iterable[Message],
    partitions: dict[str, int],
    workers: int,
    servers: list[str],
    producer_config: dict[str, Any],
    flush_timeout: float,
) -> tuple[dict[tuple[str, str], int], list[str], int]:
    """Send through ``workers`` processes; returns acknowledged counts per (run, topic),
    failures, and the number of messages handed out."""
    pipes, processes = [], []
    for _ in range(workers):  # they start while the first chunks are built here
        pipe, process = start_worker(servers, producer_config, flush_timeout)
        pipes.append(pipe)
        processes.append(process)
    ready = [False] * workers
    answers: list[Any] = [None] * workers  # a worker's (counts, failures), once it ended
    waiting: list[list[list[tuple]]] = [[] for _ in range(workers)]  # chunks held until ready
    buffers: list[list[tuple]] = [[] for _ in range(workers)]
    placements: dict[tuple[str, bytes], tuple[int, int]] = {}
    total = 0
    counts: dict[tuple[str, str], int] = {}
    failures: list[str] = []

    def hand_over(worker: int, wait: bool) -> None:
        """Send the worker's held chunks if it is ready (``wait``: until it is)."""
        pipe = pipes[worker]
        if not ready[worker] and answers[worker] is None and (wait or pipe.poll()):
            answer = pipe.recv()
            if answer == READY:
                ready[worker] = True
            else:  # it ended before it was ready (e.g. no broker): its failures say why
                answers[worker] = answer
        if ready[worker] and answers[worker] is None:
            for chunk in waiting[worker]:
                pipe.send(chunk)
            waiting[worker].clear()

    end: str | None = ABORT  # unless every message was handed out
    try:
        for message in messages:
            key = message.key.encode()
            placed = placements.get((message.topic, key))
            if placed is None:
                placed = placement(key, partitions[message.topic], workers)
                placements[(message.topic, key)] = placed
            partition, worker = placed
            buffer = buffers[worker]
            buffer.append(
                (message.envelope["run_id"], message.topic, partition, key, message.value)
            )
            total += 1
            if len(buffer) >= CHUNK:
                waiting[worker].append(buffer)
                buffers[worker] = []
                hand_over(worker, wait=False)
        end = None
    finally:
        for worker, pipe in enumerate(pipes):
            try:
                if end is None:
                    if buffers[worker]:
                        waiting[worker].append(buffers[worker])
                    hand_over(worker, wait=True)
                pipe.send(end)
            except (BrokenPipeError, OSError, EOFError) as error:  # it died; it says why below
                failures.append(f"worker pipe: {error!r}")
        for worker, (pipe, process) in enumerate(zip(pipes, processes, strict=True)):
            try:
                answer = answers[worker] or pipe.recv()
                if answer == READY:  # never got to hand it anything (an early abort)
                    answer = pipe.recv()
                worker_counts, worker_failures = answer
            except EOFError:
                worker_counts, worker_failures = {}, [f"worker {process.pid} died"]
            for run_topic, count in worker_counts.items():
                counts[run_topic] = counts.get(run_topic, 0) + count
            failures.extend(worker_failures)
            pipe.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return counts, failures, total


if __name__ == "__main__":  # a worker started by start_worker
    channel = Connection(int(sys.argv[1]))
    servers, producer_config, flush_timeout = channel.recv()
    _worker(servers, producer_config, flush_timeout, channel)
