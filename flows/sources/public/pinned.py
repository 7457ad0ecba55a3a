"""Download a file the catalog pins (size + sha256), resumably, into the raw zone once.

IBGE's POF microdata zip is 146 MB on a server that drops connections; the CNPJ download
(``flows.sources.cnpj.download.download``: ``Range`` resume, retries with backoff) is reused
as is. The file is verified against the catalog's size and sha256 before it enters the lake,
under a key named by its sha256, so the second dataset read from it finds it there.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pyarrow.fs as pafs

from flows.lake import Lake
from flows.sources.cnpj.download import DownloadError, download, http_client
from flows.sources.public.catalog import ProductionSpec

CHUNK = 1 << 20


def pinned_key(pin: ProductionSpec, filename: str) -> str:
    return f"raw/public/pinned/{pin.sha256}/{filename}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, pin: ProductionSpec, url: str) -> None:
    """Raise unless the file has the catalog's size and sha256."""
    size = path.stat().st_size
    if pin.size is not None and size != pin.size:
        raise DownloadError(f"{url}: got {size:,} bytes, the catalog pins {pin.size:,}")
    digest = sha256_of(path)
    if digest != pin.sha256:
        raise DownloadError(f"{url}: sha256 {digest} does not match the catalog's {pin.sha256}")


def fetch_pinned(
    url: str,
    pin: ProductionSpec,
    lake: Lake,
    work_dir: Path,
    client: httpx.Client | None = None,
) -> str:
    """The raw key of the pinned file, downloading and verifying it unless the lake has it."""
    filename = url.rstrip("/").rsplit("/", 1)[-1]
    key = pinned_key(pin, filename)
    if lake.exists(key) and (pin.size is None or lake.size(key) == pin.size):
        return key  # already fetched (e.g. by the other dataset read from the same zip)
    local = work_dir / f"{filename}.part"
    with http_client(client) as http:
        download(http, url, local)
    try:
        verify(local, pin, url)
    except DownloadError:
        local.unlink()  # a wrong file must not be resumed into either
        raise
    incoming = f"raw/public/_incoming/{pin.sha256}/{filename}"
    lake.filesystem.create_dir(lake.path(incoming).rsplit("/", 1)[0], recursive=True)
    pafs.copy_files(
        str(local.resolve()),
        lake.path(incoming),
        source_filesystem=pafs.LocalFileSystem(),
        destination_filesystem=lake.filesystem,
    )
    lake.move(incoming, key)
    local.unlink()
    return key
