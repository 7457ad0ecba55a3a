"""Where everything lives in the lake, and the one way an output replaces the previous one.

Every writer (CNPJ, public, partner) and the warehouse loader spell lake keys through the
functions here, so a key is decided once. Two rules keep readers from ever seeing half an
output:

- one object (a raw file, a public table, a partner day, a manifest) is written to a
  temporary key beside its target and then moved over it: :func:`write_atomically`;
- a multi-object output (a CNPJ release: many tables of many parts) is written under a
  staging prefix of its run, described by ``_SUCCESS.json`` manifests, and swapped in
  whole: :func:`swap_in`. Readers read the parts a manifest lists, never a listing.

Zones: ``raw/`` (as fetched, immutable), ``trusted/`` (typed, scrubbed Parquet),
``quarantine/`` (bad rows, restricted), ``state/`` (watermarks, fetch metadata, locks).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Callable
from typing import IO, Any

from flows.lake import Lake

MANIFEST = "_SUCCESS.json"
RELEASE_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

# ---- CNPJ ------------------------------------------------------------------------------

CNPJ = "cnpj"
CNPJ_ZONES = ("trusted", "quarantine")  # what a release run publishes (raw/ is immutable)


def check_release(release: str) -> str:
    """A CNPJ release is ``YYYY-MM`` (it is also written into SQL as a literal)."""
    if not isinstance(release, str) or not RELEASE_PATTERN.fullmatch(release):
        raise ValueError(f"a release is YYYY-MM, got {release!r}")
    return release


def cnpj_raw_key(release: str, file_name: str) -> str:
    return f"raw/{CNPJ}/{release}/{file_name}"


def cnpj_raw_prefix(release: str) -> str:
    return f"raw/{CNPJ}/{release}"


def cnpj_fetch_meta_key(release: str, file_name: str) -> str:
    """Size, MD5 and origin of a raw zip, written when it entered ``raw/``."""
    return f"state/{CNPJ}/raw/{release}/{file_name}.json"


def cnpj_zone_prefix(zone: str) -> str:
    """``trusted/cnpj``: the folder of every release of a zone."""
    return f"{zone}/{CNPJ}"


def cnpj_release_prefix(zone: str, release: str) -> str:
    """``trusted/cnpj/<release>`` or ``quarantine/cnpj/<release>`` (published output)."""
    return f"{cnpj_zone_prefix(zone)}/{release}"


def cnpj_table_prefix(release: str, table: str) -> str:
    return f"{cnpj_release_prefix('trusted', release)}/{table}"


def cnpj_staging_prefix(zone: str, release: str, run_id: str | None = None) -> str:
    """A run's private output (``run_id``), or every run's of a release (``None``)."""
    base = f"{zone}/{CNPJ}/_staging/{release}"
    return base if run_id is None else f"{base}/{run_id}"


def cnpj_replaced_prefix(zone: str, release: str, run_id: str | None = None) -> str:
    """Where the previous output waits during a swap (recovered if the swap is cut)."""
    base = f"{zone}/{CNPJ}/_replaced/{release}"
    return base if run_id is None else f"{base}/{run_id}"


def cnpj_lock_key(release: str) -> str:
    return f"state/{CNPJ}/locks/{release}.lock"


def lock_key(name: str) -> str:
    """The lock of a writer that must run alone: ``partner``, ``warehouse``,
    ``analysis-<release>`` (``flows.locks``)."""
    return f"state/locks/{name}.lock"


# ---- public datasets and partner --------------------------------------------------------


def public_raw_key(name: str, day: dt.date, filename: str) -> str:
    return f"raw/public/{name}/{day.isoformat()}/{filename}"


def public_trusted_key(name: str) -> str:
    return f"{public_trusted_prefix(name)}/data.parquet"


def public_trusted_prefix(name: str) -> str:
    return f"trusted/public/{name}"


PARTNER_RAW_PREFIX = "raw/partner/"  # restricted: purged after the retention period
PARTNER_STATE_PREFIX = "state/partner/"


def partner_raw_key(table: str, fetched: dt.date, stem: str, run_tag: str) -> str:
    """The body of one partner response, as fetched (restricted; purged by retention)."""
    return f"{PARTNER_RAW_PREFIX}{table}/{fetched:%Y-%m-%d}/{stem}_{run_tag}.json"


def partner_quarantine_prefix(table: str, day: dt.date) -> str:
    return f"quarantine/partner/{table}/{day}"


def partner_trusted_prefix(table: str, sale_day: dt.date | str | None = None) -> str:
    base = f"trusted/partner/{table}"
    return base if sale_day is None else f"{base}/sale_date={sale_day}"


# ---- run ids --------------------------------------------------------------------------------

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class RunIdError(ValueError):
    """A run id that cannot name a folder of the lake."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(now: dt.datetime | None = None) -> str:
    """``20261201T103000Z-1a2b3c4d``: the one run-id generator (analysis, reports, CNPJ
    releases). Sortable by UTC start time; the random suffix keeps two runs started in
    the same second apart."""
    now = now or utc_now()
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def check_run_id(run_id: str) -> str:
    """A run id given from outside (a parameter, a CLI option) is checked on every path
    that spells a key with it: 1-64 letters, digits, ``.``, ``_`` or ``-``."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise RunIdError(
            f"run id {run_id!r}: use 1-64 letters, digits, '.', '_' or '-' (it names a folder)"
        )
    return run_id


# ---- reports and analysis runs ----------------------------------------------------------

REPORTS_PREFIX = "reports"
ANALYSIS = "analysis"  # reports/analysis/<date>/<run-id>/: an analysis run's record
REPORT_MANIFEST = "manifest.json"  # a run's commit point: written last
OUTPUTS = "outputs"  # the analysis output files, inside a run folder
REPORTS_INDEX = f"{REPORTS_PREFIX}/index.html"


def report_prefix(notebook: str) -> str:
    return f"{REPORTS_PREFIX}/{notebook}"


def report_folder(notebook: str, report_date: str, run_id: str) -> str:
    """``reports/<notebook>/<YYYY-MM-DD>/<run-id>``: one run's record and rendered pages."""
    return f"{report_prefix(notebook)}/{report_date}/{check_run_id(run_id)}"


def analysis_run_folder(day: dt.date, run_id: str) -> str:
    """``reports/analysis/<YYYY-MM-DD>/<run-id>``: where an analysis run is kept."""
    return report_folder(ANALYSIS, day.isoformat(), run_id)


def outputs_prefix(run_folder: str) -> str:
    return f"{run_folder}/{OUTPUTS}"


def report_manifest_key(run_folder: str) -> str:
    return f"{run_folder}/{REPORT_MANIFEST}"


def is_report_manifest_key(key: str) -> bool:
    """``reports/<notebook>/<date>/<run-id>/manifest.json`` (not a file of ``outputs/``)."""
    parts = key.split("/")
    return len(parts) == 5 and parts[0] == REPORTS_PREFIX and parts[4] == REPORT_MANIFEST


def run_folder_of(analysis_dir: str) -> str | None:
    """The run folder an output folder belongs to (``.../<run-id>/outputs`` -> the folder),
    or None when it is not a run folder of the reports archive."""
    parts = analysis_dir.strip("/").split("/")
    if len(parts) == 5 and parts[0] == REPORTS_PREFIX and parts[4] == OUTPUTS:
        return "/".join(parts[:4])
    return None


def latest_page_key(notebook: str, audience: str = "marketing") -> str:
    """``reports/latest/<notebook>.html`` (marketing) or ``<notebook>.analyst.html``."""
    suffix = "" if audience == "marketing" else f".{audience}"
    return f"{REPORTS_PREFIX}/latest/{notebook}{suffix}.html"


# ---- delivery -----------------------------------------------------------------------------

PUBLISH_LEDGER_PREFIX = "state/publish"


def publish_ledger_key(run_id: str, topic: str) -> str:
    """What was delivered of one run to one topic (written after the acknowledgement)."""
    return f"{PUBLISH_LEDGER_PREFIX}/{check_run_id(run_id)}/{topic}.json"


def publish_ledger_prefix(run_id: str) -> str:
    return f"{PUBLISH_LEDGER_PREFIX}/{check_run_id(run_id)}"


# ---- manifests ---------------------------------------------------------------------------


def manifest_key(prefix: str) -> str:
    return f"{prefix.rstrip('/')}/{MANIFEST}"


def write_manifest(lake: Lake, prefix: str, manifest: dict) -> None:
    """``<prefix>/_SUCCESS.json``: what a complete output holds (parts and row counts)."""
    data = json.dumps(manifest, indent=2).encode()
    write_atomically(lake, manifest_key(prefix), lambda sink: sink.write(data))


def read_manifest(lake: Lake, prefix: str) -> dict:
    return json.loads(lake.read_bytes(manifest_key(prefix)))


def has_manifest(lake: Lake, prefix: str) -> bool:
    return lake.exists(manifest_key(prefix))


# ---- atomic replacement -------------------------------------------------------------------


def temporary_key(key: str) -> str:
    """A key beside ``key``; the leading underscore keeps dataset readers off it."""
    folder, _, filename = key.rpartition("/")
    return f"{folder}/_tmp-{uuid.uuid4().hex}-{filename}"


def write_atomically(lake: Lake, key: str, write: Callable[[IO[bytes]], Any]) -> None:
    """Write one object through ``write(sink)`` to a temporary key, then move it over
    ``key``: a reader finds the old object or the new one, never half of one."""
    temporary = temporary_key(key)
    try:
        with lake.open_output(temporary) as sink:
            write(sink)
        lake.move(temporary, key)
    finally:
        if lake.exists(temporary):
            lake.delete(temporary)


def write_bytes_atomically(lake: Lake, key: str, data: bytes) -> None:
    """``write_atomically`` for bytes already in memory."""
    write_atomically(lake, key, lambda sink: sink.write(data))


def replace_prefix_with(lake: Lake, prefix: str, name: str, write: Callable[[IO[bytes]], Any]):
    """Make ``prefix`` hold exactly one object ``name``: written atomically first, then
    every other object below ``prefix`` removed (a reader never finds the prefix empty)."""
    key = f"{prefix.rstrip('/')}/{name}"
    write_atomically(lake, key, write)
    for obj in lake.list(prefix):
        if obj.key != key:
            lake.delete(obj.key)


def swap_in(lake: Lake, staged: str, final: str, aside: str) -> None:
    """Put a staged multi-object output in place of ``final``: the previous output is
    moved ``aside``, the staged one moved in, the previous one deleted. On a folder both
    moves are directory renames; a swap cut between them is undone by :func:`recover_swap`."""
    if lake.list(final):
        lake.move(final, aside)
    if lake.list(staged):
        lake.move(staged, final)
    lake.delete_prefix(aside)


def recover_swap(lake: Lake, final: str, aside_root: str) -> None:
    """Undo a swap cut between its two moves: put the newest output set aside back."""
    start = len(aside_root) + 1
    runs = sorted({obj.key[start:].split("/", 1)[0] for obj in lake.list(aside_root)})
    if runs and not lake.list(final):
        lake.move(f"{aside_root}/{runs[-1]}", final)
    lake.delete_prefix(aside_root)
