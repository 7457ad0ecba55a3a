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


# ---- reports ------------------------------------------------------------------------------

REPORTS_PREFIX = "reports"


def report_prefix(notebook: str) -> str:
    return f"{REPORTS_PREFIX}/{notebook}"


def report_folder(notebook: str, report_date: str, run_id: str) -> str:
    """``reports/<notebook>/<YYYY-MM-DD>/<run-id>``: one run's record and rendered pages."""
    return f"{report_prefix(notebook)}/{report_date}/{run_id}"


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
