"""Fetch a CNPJ release's zips into ``raw/cnpj/<release>/``: over HTTP or from a folder.

HTTP downloads stream to a local ``.part`` file, resume with ``Range`` after a dropped
connection and retry transient trouble through ``flows.retry`` (the one shared rule; a
404 or a corrupt file is not retried). Before a file enters ``raw/`` it is verified
whole: size (Content-Length), MD5 when the server's ETag looks like one, and every CRC of
the zip (``testzip`` streams the member); a corrupt, empty or multi-member zip never
enters the immutable raw zone, so the corrected re-run is not blocked. Raw objects are
immutable: a file already in the lake with the same size (and checksum, when known) is
skipped; one that differs is an error rather than silently overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from flows import layout
from flows.lake import Lake
from flows.retry import TransientError, retrying
from flows.sources.cnpj.layout import classify, expected_file_names

CHUNK = 1 << 20
_HREF = re.compile(r'href="([^"?#]+\.zip)"', re.IGNORECASE)
_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


class DownloadError(RuntimeError):
    """A file could not be fetched or did not verify."""


@dataclass(frozen=True)
class Fetched:
    """One zip in the raw zone."""

    name: str
    key: str
    size: int
    md5: str
    skipped: bool  # already in the lake, identical


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def release_location(release: str, source: str) -> str:
    """The folder holding a release's zips: ``<base>/<release>`` for a URL (unless the URL
    already ends in the release), the folder itself for a local path."""
    if is_url(source):
        base = source.rstrip("/")
        return base if base.endswith(f"/{release}") else f"{base}/{release}"
    return str(Path(source))


# A release folder in the Receita's listing: href="2026-11/" (or a full path ending so).
_RELEASE_FOLDER = re.compile(r'href="(?:[^"]*/)?(\d{4}-(?:0[1-9]|1[0-2]))/?"', re.IGNORECASE)


def releases_in_listing(html: str) -> list[str]:
    """The ``YYYY-MM`` release folders a web index page links to, oldest first."""
    return sorted(set(_RELEASE_FOLDER.findall(html)))


def latest_release(source: str, client: httpx.Client | None = None) -> str:
    """The newest release published at ``source``: the Receita's listing (or any web index
    of ``YYYY-MM/`` folders), or a local folder of ``YYYY-MM`` sub-folders."""
    if is_url(source):
        with http_client(client) as http:
            response = http.get(f"{source.rstrip('/')}/")
        response.raise_for_status()
        releases = releases_in_listing(response.text)
    else:
        folder = Path(source)
        releases = sorted(
            path.name
            for path in (folder.iterdir() if folder.is_dir() else [])
            if path.is_dir() and releases_in_listing(f'href="{path.name}/"')
        )
    if not releases:
        raise DownloadError(f"no YYYY-MM release folder listed at {source}; give the release")
    return releases[-1]


def list_release(location: str, client: httpx.Client | None = None) -> list[str]:
    """The CNPJ zip names in a release folder (a web index page or a local folder)."""
    if is_url(location):
        with http_client(client) as http:
            response = http.get(f"{location}/")
        names = {unquote(href.rsplit("/", 1)[-1]) for href in _HREF.findall(response.text)}
        if response.status_code >= 400 or not names:
            # No usable index page: ask for the documented file names.
            names = set(expected_file_names())
    else:
        folder = Path(location)
        if not folder.is_dir():
            raise DownloadError(f"CNPJ source folder not found: {folder}")
        names = {path.name for path in folder.glob("*.zip")}
    return sorted(name for name in names if classify(name))


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    lake: Lake, release: str, location: str, name: str, work_dir: Path, attempts: int = 5
) -> Fetched:
    """Bring one zip into the raw zone, verified (or find the same file already there)."""
    key = layout.cnpj_raw_key(release, name)
    meta_key = layout.cnpj_fetch_meta_key(release, name)
    known = json.loads(lake.read_bytes(meta_key)) if lake.exists(meta_key) else None
    if is_url(location):
        with http_client(None) as http:
            size, server_md5, etag = _head(http, f"{location}/{name}")
            if lake.exists(key):
                _check_same(lake.size(key), known, size, server_md5, name)
                return Fetched(name, key, size, known["md5"] if known else "", skipped=True)
            local = work_dir / release / f"{name}.part"
            download(http, f"{location}/{name}", local, attempts=attempts)
        md5 = md5_of(local)
    else:
        local = Path(location) / name
        if not local.is_file():
            raise DownloadError(f"{name}: not found in {location}")
        size, etag = local.stat().st_size, None
        md5 = server_md5 = md5_of(local)  # hashed once: it is both the source's and ours
        if lake.exists(key):
            _check_same(lake.size(key), known, size, md5, name)
            return Fetched(name, key, size, md5, skipped=True)
    try:
        _verify(local, name, size, md5, server_md5)
    except DownloadError:
        if is_url(location):
            local.unlink()  # a resumed download would append to the bad bytes forever
        raise

    def copy(sink) -> None:
        with local.open("rb") as source:
            shutil.copyfileobj(source, sink, CHUNK)

    layout.write_atomically(lake, key, copy)
    meta = {"size": size, "md5": md5, "etag": etag, "source": location}
    layout.write_bytes_atomically(lake, meta_key, json.dumps(meta).encode())
    if is_url(location):
        local.unlink()
    return Fetched(name, key, size, md5, skipped=False)


def _check_same(
    lake_size: int | None, known: dict | None, size: int, md5: str | None, name: str
) -> None:
    """Raise unless the raw object is the same file (same size; same MD5 when both known)."""
    same = lake_size == size and (known is None or md5 is None or known.get("md5") == md5)
    if not same:
        raise DownloadError(
            f"{name}: the raw zone already holds a different {name} for this release "
            "(raw files are immutable; move it aside to fetch the new one)"
        )


def _head(http: httpx.Client, url: str) -> tuple[int, str | None, str | None]:
    try:
        for attempt in retrying(attempts=3):
            with attempt:
                response = http.head(url)
                response.raise_for_status()  # transient codes are retried, others raised
    except httpx.HTTPError as error:
        raise DownloadError(f"{url}: {error}") from None
    if "content-length" not in response.headers:
        raise DownloadError(f"{url}: the server does not say the file's size")
    etag = response.headers.get("etag")
    md5_match = _MD5_ETAG.match(etag or "")
    return int(response.headers["content-length"]), md5_match and md5_match[1].lower(), etag


def _verify(local: Path, name: str, size: int, md5: str, server_md5: str | None) -> None:
    """Raise ``DownloadError`` naming the file unless it is whole, as announced, and a
    zip of one non-empty CSV whose every CRC checks."""
    if local.stat().st_size != size:
        raise DownloadError(f"{name}: got {local.stat().st_size} bytes, expected {size}")
    if server_md5 and md5 != server_md5:
        raise DownloadError(f"{name}: MD5 {md5} does not match the server's {server_md5}")
    if size == 0:
        raise DownloadError(f"{name}: empty file (0 bytes), not a zip")
    try:
        with zipfile.ZipFile(local) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if not members:
                raise DownloadError(f"{name}: an empty zip, no CSV inside")
            if len(members) != 1:
                raise DownloadError(f"{name}: expected one CSV inside, found {len(members)}")
            if members[0].file_size == 0:
                raise DownloadError(f"{name}: the CSV inside is empty")
            broken = archive.testzip()  # streams and checks every CRC, in constant memory
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise DownloadError(f"{name}: corrupt zip ({error})") from None
    if broken is not None:
        raise DownloadError(f"{name}: corrupt zip (bad CRC in {broken})")


def download(http: httpx.Client, url: str, dest: Path, attempts: int = 5) -> None:
    """Stream ``url`` to ``dest``, resuming from what ``dest`` already holds; transient
    trouble (dropped connection, 5xx, 429, short body) is retried by ``flows.retry``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    size, _, etag = _head(http, url)
    with progress_bar(dest.name.removesuffix(".part"), size) as advance:
        try:
            for attempt in retrying(attempts=attempts, base_delay=0.2):
                with attempt:
                    _download_once(http, url, dest, size, etag, advance)
        except httpx.HTTPError as error:
            raise DownloadError(f"{url}: {error}") from None
        except TransientError as error:
            raise DownloadError(f"{url}: gave up after {attempts} attempts: {error}") from None


def _download_once(http, url: str, dest: Path, size: int, etag: str | None, advance) -> None:
    have = dest.stat().st_size if dest.exists() else 0
    if have > size:
        dest.unlink()
        have = 0
    if have == size:
        return
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if etag and not etag.startswith("W/"):
            headers["If-Range"] = etag  # resume only the same version of the file
    advance(have, absolute=True)
    with http.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        resumed = response.status_code == 206
        with dest.open("ab" if resumed else "wb") as out:
            for chunk in response.iter_raw():  # unbuffered: keep every byte received
                out.write(chunk)
                advance(len(chunk))
    if dest.stat().st_size < size:
        raise TransientError(f"short body: {dest.stat().st_size} of {size} bytes")


HTTP_TIMEOUT = httpx.Timeout(30.0, read=120.0)


@contextmanager
def http_client(client: httpx.Client | None = None) -> Iterator[httpx.Client]:
    """``client`` as given (kept open), else a new client for open-data servers: long
    reads, redirects followed; the one HTTP setup of the CNPJ and public downloads."""
    if client is not None:
        yield client
        return
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as http:
        yield http


# One rich display shared by the downloads running in parallel threads
# (rich allows only one live display at a time).
_progress_lock = threading.Lock()
_progress: Progress | None = None
_progress_users = 0


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[..., None]]:
    """A progress bar for one download; yields ``advance(bytes, absolute=False)``."""
    global _progress, _progress_users
    with _progress_lock:
        if _progress is None:
            _progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            _progress.start()
        _progress_users += 1
        progress = _progress
        task = progress.add_task(description, total=total)

    def advance(amount: int, absolute: bool = False) -> None:
        if absolute:
            progress.update(task, completed=amount)
        else:
            progress.advance(task, amount)

    try:
        yield advance
    finally:
        with _progress_lock:
            progress.remove_task(task)
            _progress_users -= 1
            if _progress_users == 0:
                progress.stop()
                _progress = None


def remove_work_file(work_dir: Path, release: str) -> None:
    """Drop a release's leftover partial downloads."""
    shutil.rmtree(work_dir / release, ignore_errors=True)
