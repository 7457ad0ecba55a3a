"""Sending from several processes, for large runs.

kafka-python's ``send()`` is pure Python (record encoding, accumulator, futures): one
process tops out near 20,000-30,000 small messages/s on this machine however the
producer is tuned, below the 30,000 msg/s target once envelopes are built and validated
too. So the calling process builds and validates the messages and hands them, in
chunks, to worker processes that each own an idempotent producer.

Ordering and keys are preserved: the partition is chosen here with Kafka's own default
partitioner (murmur2 of the key, as every Kafka client does) and each partition belongs
to exactly one worker, which sends its messages in order. Guarantees do not change:
each worker keeps every future, flushes and checks them all, and reports only
acknowledged counts; any failure anywhere fails the whole publish.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kafka.partitioner.default import murmur2

if TYPE_CHECKING:  # a worker imports this module: only kafka-python, nothing heavy
    from flows.publish.envelope import Message

CHUNK = 2_000
ABORT = "abort"


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partition of a key (Java client and kafka-python agree)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _worker(servers, producer_config, flush_timeout, connection) -> None:
    """Receive chunks until ``None``; send, flush, check every future; report back."""
    from kafka import KafkaProducer

    counts: dict[tuple[str, str], int] = {}
    failures: list[str] = []
    producer = None
    try:
        producer = KafkaProducer(bootstrap_servers=servers, **producer_config)
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
        connection.send((counts, failures))
        connection.close()


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
    # spawn, not fork: a forked child inherits kafka-python's and Prefect's threads
    # half-alive (seen as batches expiring unsent); a fresh interpreter costs ~0.5 s,
    # overlapped with building the first chunks here.
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for _ in range(workers):
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_worker, args=(servers, producer_config, flush_timeout, child_end), daemon=True
        )
        process.start()
        child_end.close()
        pipes.append(parent_end)
        processes.append(process)
    buffers: list[list[tuple]] = [[] for _ in range(workers)]
    partition_cache: dict[tuple[str, bytes], int] = {}
    total = 0
    counts: dict[tuple[str, str], int] = {}
    failures: list[str] = []
    end: str | None = ABORT  # unless every message was handed out
    try:
        for message in messages:
            key = message.key.encode()
            partition = partition_cache.get((message.topic, key))
            if partition is None:
                partition = partition_of(key, partitions[message.topic])
                partition_cache[(message.topic, key)] = partition
            worker = partition % workers
            buffer = buffers[worker]
            buffer.append(
                (message.envelope["run_id"], message.topic, partition, key, message.value)
            )
            total += 1
            if len(buffer) >= CHUNK:
                pipes[worker].send(buffer)
                buffers[worker] = []
        end = None
    finally:
        for pipe, buffer in zip(pipes, buffers, strict=True):
            try:
                if buffer and end is None:
                    pipe.send(buffer)
                pipe.send(end)
            except (BrokenPipeError, OSError) as error:  # the worker died; it says why below
                failures.append(f"worker pipe: {error!r}")
        for pipe, process in zip(pipes, processes, strict=True):
            try:
                worker_counts, worker_failures = pipe.recv()
            except EOFError:
                worker_counts, worker_failures = {}, [f"worker {process.pid} died"]
            for run_topic, count in worker_counts.items():
                counts[run_topic] = counts.get(run_topic, 0) + count
            failures.extend(worker_failures)
            process.join(timeout=30)
    return counts, failures, total
