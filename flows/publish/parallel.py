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
the GIL than it saved). Guarantees do not change: each worker keeps every future of a
window, flushes and checks them all at the window's end (``FLUSH``), and reports only
acknowledged counts; any failure anywhere fails the publish after that window.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import traceback
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from kafka.partitioner.default import murmur2

if TYPE_CHECKING:  # a worker imports this module: only kafka-python, nothing heavy
    from flows.publish.envelope import Message

CHUNK = 2_000
ABORT = "abort"
READY = "ready"
FLUSH = "flush"  # end of a window: flush, check every future, report


def placement(key: bytes, partitions: int, workers: int) -> tuple[int, int]:
    """The key's partition (Kafka's default: murmur2, as the Java client and kafka-python
    compute it) and the worker that sends all its messages."""
    hashed = murmur2(key) & 0x7FFFFFFF
    return hashed % partitions, hashed % workers


def _check(sent: list, counts: dict, failures: list) -> None:
    """Count the acknowledged futures of ``sent`` and describe the others."""
    for run_id, topic, key, future in sent:
        if future.succeeded():
            counts[(run_id, topic)] = counts.get((run_id, topic), 0) + 1
        else:
            failures.append(f"{topic}/{key.decode()}: {future.exception or 'no answer'!r}")


def _worker(servers, producer_config, flush_timeout, connection) -> None:
    """Receive chunks; at each ``FLUSH`` flush, check every future and report the window's
    (counts, failures); stop at ``None`` (or ``ABORT``: send no more)."""
    from kafka import KafkaProducer

    producer = None
    try:
        producer = KafkaProducer(bootstrap_servers=servers, **producer_config)
        connection.send(READY)
        sent: list = []
        while (chunk := connection.recv()) not in (None, ABORT):
            if chunk == FLUSH:
                producer.flush(timeout=flush_timeout)
                counts: dict[tuple[str, str], int] = {}
                failures: list[str] = []
                _check(sent, counts, failures)
                sent = []
                connection.send((counts, failures))
                continue
            for run_id, topic, partition, key, value in chunk:
                future = producer.send(topic, key=key, value=value, partition=partition)
                sent.append((run_id, topic, key, future))
    except Exception as error:
        with suppress(OSError):  # the caller is gone (killed): nobody to tell
            connection.send(({}, ["".join(traceback.format_exception_only(error)).strip()]))
    finally:
        if producer is not None:
            producer.close(timeout=10)
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


class ProcessSender:
    """Worker processes that send windows of messages: :meth:`send` hands a window out
    by key and returns only when every worker flushed and checked it."""

    def __init__(
        self,
        partitions: dict[str, int],
        workers: int,
        servers: list[str],
        producer_config: dict[str, Any],
        flush_timeout: float,
    ) -> None:
        self.partitions = partitions  # {topic: partitions}, filled in by the caller
        self.workers = workers
        self.pipes: list[Connection] = []
        self.processes: list[subprocess.Popen] = []
        for _ in range(workers):  # they start while the first window is built
            pipe, process = start_worker(servers, producer_config, flush_timeout)
            self.pipes.append(pipe)
            self.processes.append(process)
        self.ready = [False] * workers
        self.ended: list[list[str] | None] = [None] * workers  # failures of a worker that ended
        self.placements: dict[tuple[str, bytes], tuple[int, int]] = {}

    def _ready(self, worker: int, wait: bool) -> bool:
        """Whether the worker can take chunks (``wait``: until it said so or ended)."""
        pipe = self.pipes[worker]
        if not self.ready[worker] and self.ended[worker] is None and (wait or pipe.poll()):
            try:
                answer = pipe.recv()
            except EOFError:
                answer = ({}, [f"worker {self.processes[worker].pid} died"])
            if answer == READY:
                self.ready[worker] = True
            else:  # it ended before it was ready (e.g. no broker): its failures say why
                self.ended[worker] = answer[1]
        return self.ready[worker] and self.ended[worker] is None

    def send(self, window: list[Message]) -> tuple[dict[tuple[str, str], int], list[str]]:
        """Send ``window``; the acknowledged counts per (run, topic) and the failures."""
        buffers: list[list[tuple]] = [[] for _ in range(self.workers)]
        waiting: list[list[list[tuple]]] = [[] for _ in range(self.workers)]
        for message in window:
            key = message.key.encode()
            placed = self.placements.get((message.topic, key))
            if placed is None:
                placed = placement(key, self.partitions[message.topic], self.workers)
                self.placements[(message.topic, key)] = placed
            partition, worker = placed
            buffer = buffers[worker]
            buffer.append(
                (message.envelope["run_id"], message.topic, partition, key, message.value)
            )
            if len(buffer) >= CHUNK:
                waiting[worker].append(buffer)
                buffers[worker] = []
                if self._ready(worker, wait=False):
                    self._hand_over(worker, waiting[worker])
        counts: dict[tuple[str, str], int] = {}
        failures: list[str] = []
        flushing = []
        for worker in range(self.workers):
            if buffers[worker]:
                waiting[worker].append(buffers[worker])
            if not self._ready(worker, wait=True):
                why = "; ".join(self.ended[worker] or ["it ended"])
                failures.append(f"worker {self.processes[worker].pid} sent nothing: {why}")
                continue
            try:
                self._hand_over(worker, waiting[worker])
                self.pipes[worker].send(FLUSH)
                flushing.append(worker)
            except OSError as error:
                failures.append(f"worker pipe: {error!r}")
                self.ended[worker] = [repr(error)]
        for worker in flushing:
            try:
                worker_counts, worker_failures = self.pipes[worker].recv()
            except EOFError:
                worker_counts, worker_failures = {}, [f"worker {self.processes[worker].pid} died"]
                self.ended[worker] = worker_failures
            for run_topic, count in worker_counts.items():
                counts[run_topic] = counts.get(run_topic, 0) + count
            failures.extend(worker_failures)
        return counts, failures

    def _hand_over(self, worker: int, chunks: list[list[tuple]]) -> None:
        for chunk in chunks:
            self.pipes[worker].send(chunk)
        chunks.clear()

    def close(self, abort: bool = False) -> None:
        """Stop every worker (``abort``: without flushing what it still holds)."""
        for pipe in self.pipes:
            with suppress(OSError):
                pipe.send(ABORT if abort else None)
            pipe.close()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":  # a worker started by start_worker
    channel = Connection(int(sys.argv[1]))
    servers, producer_config, flush_timeout = channel.recv()
    _worker(servers, producer_config, flush_timeout, channel)
