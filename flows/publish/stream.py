"""An analysis run's messages, streamed from its output files in bounded batches.

:func:`stream_run_messages` reads ``metrics.json`` whole (one message) and the Parquet
files with ``iter_batches``: each batch of ``batch_rows`` rows becomes that many
validated messages, which the publisher sends before the next batch is read. At most one
batch of rows and of messages is held at a time, however large the run (the publish
step used to build all 2.4 million messages first: 18.7 GB). The order is the files'
order, the same on every attempt, which lets a retried publish skip what was
acknowledged (``flows.publish.progress``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake import Lake
from flows.publish import messages as builders
from flows.publish.envelope import Message, Topics, utc_now

BATCH_ROWS = 10_000


def read_metrics(lake: Lake, folder: str) -> dict:
    folder = folder.strip("/")
    missing = [name for name in builders.OUTPUT_FILES if not lake.exists(f"{folder}/{name}")]
    if missing:
        raise FileNotFoundError(f"{lake.uri(folder)} lacks {', '.join(missing)}")
    return json.loads(lake.read_bytes(f"{folder}/{builders.METRICS_FILE}"))


def table_batches(lake: Lake, key: str, batch_rows: int) -> Iterator[pa.Table]:
    """The Parquet object ``key`` as tables of at most ``batch_rows`` rows."""
    with lake.open_input(key) as source:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])


def message_batches(
    lake: Lake, folder: str, topics: Topics, batch_rows: int = BATCH_ROWS
) -> Iterator[list[Message]]:
    """Every message of the run in ``folder``, a list of at most ``batch_rows`` at a time
    (the metrics message first, then potential, then prospects)."""
    folder = folder.strip("/")
    metrics = read_metrics(lake, folder)
    run_id, produced_at = str(metrics["run_id"]), utc_now()
    yield [builders.metrics_message(metrics, topics, produced_at)]
    files: list[tuple[str, Callable[..., Iterator[Message]]]] = [
        (builders.POTENTIAL_FILE, builders.potential_messages),
        (builders.PROSPECTS_FILE, builders.prospect_messages),
    ]
    for name, build in files:
        for table in table_batches(lake, f"{folder}/{name}", batch_rows):
            yield list(build(table, run_id, topics, produced_at))


def stream_run_messages(
    lake: Lake, folder: str, topics: Topics, batch_rows: int = BATCH_ROWS
) -> Iterator[Message]:
    """:func:`message_batches`, one message at a time."""
    for batch in message_batches(lake, folder, topics, batch_rows):
        yield from batch
