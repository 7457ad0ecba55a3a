"""The kill -9 matrix: each stage killed at its most delicate point in a child process,
then a plain re-run must equal a clean run. (Publishing: test_publish_faults.py and
test_outbox_faults.py; the analysis's work folder: test_work_folders.py.)"""

from __future__ import annotations

import pyarrow.dataset as ds

from flows.lake import Lake
from tests.faults.killing import kill_when_stopped


def trusted_rows(lake: Lake, prefix: str) -> dict[str, list]:
    """Every trusted table below ``prefix`` as sorted rows, by folder (``_`` keys skipped
    as every reader does)."""
    tables: dict[str, list] = {}
    for obj in lake.list(prefix):
        name = obj.key.rsplit("/", 1)[-1]
        if not name.endswith(".parquet") or name.startswith("_") or "/_" in obj.key:
            continue
        rows = ds.dataset(lake.path(obj.key), filesystem=lake.filesystem).to_table().to_pylist()
        folder = obj.key.rsplit("/", 1)[0]
        tables.setdefault(folder, []).extend(sorted(map(repr, rows)))
    return {folder: sorted(rows) for folder, rows in tables.items()}


# ---- ingest: partner --------------------------------------------------------------------

PARTNER_CHILD = """
import datetime as dt
import pyarrow.parquet as pq
from flows.lake import Lake
from flows.sources.partner.ingest import IngestContext, ingest_full_table, ingest_sales_days
from tests.faults.killing import stop_here
from tests.sources.partner.conftest import PSEUDONYM_KEY, StubClient

real_write, calls = pq.write_table, []

def write_then_die(table, sink, **options):  # the 4th write (day 2) dies half-way
    calls.append(1)
    if len(calls) == 4:
        real_write(table.slice(0, table.num_rows // 2), sink, **options)
        sink.flush()
        stop_here()
    real_write(table, sink, **options)

pq.write_table = write_then_die
ctx = IngestContext(Lake.from_url({lake!r}), StubClient(), PSEUDONYM_KEY,
                    today=dt.date(2026, 3, 17))
for table in ("Category", "Establishment"):
    ingest_full_table(ctx, table)
ingest_sales_days(ctx, [dt.date(2026, 3, d) for d in (14, 15, 16)], workers=1)
"""


def partner_run(lake: Lake) -> None:
    import datetime as dt

    from flows.sources.partner.ingest import (
        IngestContext,
        ingest_full_table,
        ingest_sales_days,
        plan_days,
        read_watermark,
    )
    from tests.sources.partner.conftest import PSEUDONYM_KEY, StubClient

    today = dt.date(2026, 3, 17)
    ctx = IngestContext(lake, StubClient(), PSEUDONYM_KEY, today=today)
    for table in ("Category", "Establishment"):
        ingest_full_table(ctx, table)
    since = None if read_watermark(lake, today) else dt.date(2026, 3, 14)
    ingest_sales_days(ctx, plan_days(read_watermark(lake, today), since, None, today), 1)


def test_partner_ingest_killed_mid_write_then_rerun_equals_a_clean_run(tmp_path):
    from flows.sources.partner.ingest import read_watermark

    killed = Lake.from_url(str(tmp_path / "killed"))
    kill_when_stopped(PARTNER_CHILD.format(lake=str(tmp_path / "killed")), tmp_path / "stop", {})
    assert read_watermark(killed) == __import__("datetime").date(2026, 3, 14)
    assert [o.key for o in killed.list("trusted/partner/sales") if "/_tmp-" in o.key]

    partner_run(killed)  # a plain re-run
    clean = Lake.from_url(str(tmp_path / "clean"))
    partner_run(clean)
    assert trusted_rows(killed, "trusted/partner") == trusted_rows(clean, "trusted/partner")
    assert read_watermark(killed) == read_watermark(clean)
    assert not [o.key for o in killed.list("trusted") if "/_tmp-" in o.key]  # cleaned up


# ---- ingest: a CNPJ release -------------------------------------------------------------

CNPJ_CHILD = """
from pathlib import Path
from flows import layout
from flows.lake import Lake
from tests.cnpj_fixtures import run_unscrubbed
from tests.faults.killing import stop_here

def cut_between_moves(lake, staged, final, aside):  # the swap's most delicate moment
    if lake.list(final):
        lake.move(final, aside)
    stop_here()

layout.swap_in = cut_between_moves
run_unscrubbed(Lake.from_url({lake!r}), Path({work!r}), Path({source!r}))
"""


def test_a_cnpj_release_killed_mid_swap_then_rerun_equals_a_clean_run(tmp_path):
    from tests.cnpj_fixtures import run_unscrubbed, write_release

    write_release(tmp_path / "src", rows_per_file=20)
    killed = Lake.from_url(str(tmp_path / "killed"))
    run_unscrubbed(killed, tmp_path / "w1", tmp_path / "src")  # the previous good release
    code = CNPJ_CHILD.format(lake=str(tmp_path / "killed"), work=str(tmp_path / "w2"),
                             source=str(tmp_path / "src"))  # fmt: skip
    kill_when_stopped(code, tmp_path / "stop", {})
    assert killed.list("trusted/cnpj/_replaced")  # the kill left the swap half done

    rerun = run_unscrubbed(killed, tmp_path / "w3", tmp_path / "src")
    clean = Lake.from_url(str(tmp_path / "clean"))
    expected = run_unscrubbed(clean, tmp_path / "w4", tmp_path / "src")
    assert rerun.tables() == expected.tables()
    assert trusted_rows(killed, "trusted/cnpj") == trusted_rows(clean, "trusted/cnpj")
    assert not killed.list("trusted/cnpj/_replaced") and not killed.list("trusted/cnpj/_staging")


# ---- load: the warehouse swap -----------------------------------------------------------

LOAD_CHILD = """
from flows.lake import Lake
from flows.warehouse import engine_for, load, loading
from flows.warehouse.duckdb import DuckDBLoader
from tests.faults.killing import stop_here

real = loading.reconcile

def reconcile_then_die(*args, **kwargs):  # inside the swap transaction, before commit
    real(*args, **kwargs)
    stop_here()

loading.reconcile = reconcile_then_die
load(engine_for({url!r}), Lake.from_url({lake!r}), DuckDBLoader(), {release!r})
"""


def test_a_load_killed_inside_its_transaction_then_rerun_equals_a_clean_run(tmp_path):
    from flows.warehouse import engine_for, load
    from flows.warehouse.duckdb import DuckDBLoader
    from tests.warehouse_fixtures import PREVIOUS, RELEASE, table_counts, write_trusted_lake

    lake = Lake.from_url(str(write_trusted_lake(tmp_path / "lake")))
    url = f"duckdb:///{tmp_path / 'killed.duckdb'}"
    engine = engine_for(url)
    load(engine, lake, DuckDBLoader(), PREVIOUS)
    before = table_counts(engine)
    engine.dispose()

    code = LOAD_CHILD.format(url=url, lake=str(tmp_path / "lake"), release=RELEASE)
    kill_when_stopped(code, tmp_path / "stop", {})
    engine = engine_for(url)
    assert table_counts(engine) == before  # nothing of the killed transaction is there

    load(engine, lake, DuckDBLoader(), RELEASE)  # a plain re-run
    killed_counts = table_counts(engine)
    with engine.connect() as conn:
        duplicates = conn.exec_driver_sql(
            "SELECT COUNT(*) - COUNT(DISTINCT (release, cnpj_hash)) FROM core.establishments"
        ).scalar_one()
    engine.dispose()
    assert duplicates == 0
    clean = engine_for(f"duckdb:///{tmp_path / 'clean.duckdb'}")
    load(clean, lake, DuckDBLoader(), PREVIOUS)
    load(clean, lake, DuckDBLoader(), RELEASE)
    assert killed_counts == table_counts(clean)
    clean.dispose()


# ---- render: archiving a report ----------------------------------------------------------

RENDER_CHILD = """
from flows.lake import Lake
from flows.reports.archive import ReportStore
from tests.faults.killing import stop_here
from tests.faults.test_kill_matrix import archive_run

real_put = ReportStore.put

def put_then_die(self, key, data):  # pages written, the manifest not yet
    if key.endswith("manifest.json"):
        stop_here()
    real_put(self, key, data)

ReportStore.put = put_then_die
archive_run(Lake.from_url({lake!r}), "run-2")
"""


def archive_run(lake: Lake, run_id: str) -> dict:
    """Archive a rendered report of ``run_id`` (the render itself is papermill's)."""
    import datetime as dt

    import nbformat

    from flows.reports.archive import ReportStore
    from flows.reports.render import ExecutedNotebook

    run = ExecutedNotebook(
        notebook=nbformat.v4.new_notebook(),
        parameters={"run_id": run_id},
        started_at=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC),
        duration_seconds=1.5,
        html={"analyst": f"<p>analyst {run_id}</p>", "marketing": f"<p>{run_id}</p>"},
    )
    return ReportStore(lake).archive("infographic", run_id, run, b"{}", {"m.json": b"{}"})


def test_a_render_killed_before_its_manifest_then_rerun_equals_a_clean_run(tmp_path):
    def snapshot(lake: Lake) -> dict[str, bytes]:
        return {o.key: lake.read_bytes(o.key) for o in lake.list("reports")}

    killed = Lake.from_url(str(tmp_path / "killed"))
    archive_run(killed, "run-1")
    before_index = killed.read_bytes("reports/index.html")
    kill_when_stopped(RENDER_CHILD.format(lake=str(tmp_path / "killed")), tmp_path / "stop", {})
    # The index still lists what it listed: a run without a manifest is not in it.
    assert killed.read_bytes("reports/index.html") == before_index
    assert not [o.key for o in killed.list("reports") if "/_tmp-" in o.key]

    archive_run(killed, "run-2")  # a plain re-run
    clean = Lake.from_url(str(tmp_path / "clean"))
    archive_run(clean, "run-1")
    archive_run(clean, "run-2")
    assert snapshot(killed) == snapshot(clean)
    assert b"run-2" in killed.read_bytes("reports/index.html")
