"""The data lake behind one small interface: a local folder or an S3 bucket.

Keys are ``/``-separated paths below the lake root, by zone:
``raw/<source>/...`` (as fetched, immutable; ``raw/partner`` is restricted and purged),
``trusted/<source>/...`` (typed Parquet, scrubbed), ``quarantine/<source>/...``
(bad rows with reasons), ``reports/...`` and ``outbox/...``.

Both backends are ``pyarrow.fs`` filesystems, so Parquet readers and writers take
``lake.filesystem`` and ``lake.path(key)`` directly and no code branches on the backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow.fs as pafs

ZONES = ("raw", "trusted", "quarantine", "reports", "outbox", "state")


@dataclass(frozen=True)
class LakeObject:
    """One object in the lake."""

    key: str
    size: int
    modified: dt.datetime


def s3_filesystem(endpoint_url: str | None = None) -> pafs.S3FileSystem:
    """An S3 filesystem: AWS by default, or any S3 API at ``endpoint_url`` (moto, MinIO)."""
    if not endpoint_url:
        return pafs.S3FileSystem()
    scheme, _, endpoint = endpoint_url.partition("://")
    return pafs.S3FileSystem(endpoint_override=endpoint, scheme=scheme)


class Lake:
    """Object storage rooted at a folder or ``s3://bucket/prefix``."""

    def __init__(
        self,
        filesystem: pafs.FileSystem,
        root: str,
        uri_root: str,
        s3_endpoint_url: str | None = None,
    ):
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.uri_root = uri_root.rstrip("/")
        # Kept for the S3 calls pyarrow does not offer (conditional writes of lock leases).
        self.s3_endpoint_url = s3_endpoint_url

    @classmethod
    def from_url(cls, url: str, s3_endpoint_url: str | None = None) -> Lake:
        """``./data/lake`` or ``s3://bucket/prefix`` (credentials from the usual AWS chain)."""
        if url.startswith("s3://"):
            return cls(s3_filesystem(s3_endpoint_url), url[5:], url, s3_endpoint_url)
        folder = Path(url).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return cls(pafs.LocalFileSystem(), folder.as_posix(), folder.as_uri())

    def __repr__(self) -> str:
        return f"Lake({self.uri_root!r})"

    # ---- addressing -----------------------------------------------------------------

    def path(self, key: str) -> str:
        """The filesystem path of a key, for ``pyarrow`` readers and writers."""
        key = key.strip("/")
        if ".." in key.split("/"):
            raise ValueError(f"lake keys cannot climb out of the lake: {key!r}")
        return f"{self.root}/{key}" if key else self.root

    def writable_path(self, key: str) -> str:
        """``path(key)`` with its parent folder made, for writers that don't make it."""
        path = self.path(key)
        self.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        return path

    def uri(self, key: str) -> str:
        """A URI a person or DuckDB can open: ``file:///...`` or ``s3://...``."""
        return f"{self.uri_root}/{key.strip('/')}"

    def local_path(self, key: str) -> Path:
        """The local path of a key; only for a folder lake."""
        if not isinstance(self.filesystem, pafs.LocalFileSystem):
            raise TypeError("local_path() needs a folder lake")
        return Path(self.path(key))

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    # ---- reading and writing --------------------------------------------------------

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_output(key) as sink:
            sink.write(data)

    def read_bytes(self, key: str, attempts: int = 5) -> bytes:
        """The object's bytes, whole. On S3 a read is a HEAD (the size) then a ranged GET:
        an object replaced in between by a longer one (a lock lease's heartbeat) comes
        back cut at the old size, so a read whose length is not the object's size
        afterwards is read again."""
        path = self.path(key)
        for _ in range(max(1, attempts) - 1):
            with self.filesystem.open_input_stream(path) as source:
                data = source.read()
            if self.filesystem.get_file_info(path).size in (None, len(data)):
                return data
        with self.filesystem.open_input_stream(path) as source:
            return source.read()

    @contextmanager
    def open_output(self, key: str) -> Iterator[IO[bytes]]:
        """A binary stream that becomes the object when closed."""
        with self.filesystem.open_output_stream(self.writable_path(key)) as sink:
            yield sink

    def open_input(self, key: str) -> IO[bytes]:
        """A seekable binary file (zip readers need to seek)."""
        return self.filesystem.open_input_file(self.path(key))

    # ---- listing and removing -------------------------------------------------------

    def exists(self, key: str) -> bool:
        return self.filesystem.get_file_info(self.path(key)).type != pafs.FileType.NotFound

    def size(self, key: str) -> int | None:
        info = self.filesystem.get_file_info(self.path(key))
        return None if info.type == pafs.FileType.NotFound else info.size

    def list(self, prefix: str = "") -> list[LakeObject]:
        """Every object (not folders) below ``prefix``, sorted by key."""
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        start = len(self.root) + 1
        objects = [
            LakeObject(
                key=info.path[start:],
                size=info.size or 0,
                modified=(info.mtime or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
            )
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
        ]
        return sorted(objects, key=lambda obj: obj.key)

    def delete(self, key: str) -> None:
        self.filesystem.delete_file(self.path(key))

    def delete_prefix(self, prefix: str) -> None:
        """Remove everything below ``prefix`` (missing is fine)."""
        path = self.path(prefix)
        if self.filesystem.get_file_info(path).type == pafs.FileType.Directory:
            self.filesystem.delete_dir(path)
        elif self.exists(prefix):
            self.filesystem.delete_file(path)

    def move(self, source: str, target: str) -> None:
        """Rename an object or a whole prefix: one atomic rename on a local folder; on S3,
        which has no folders to rename, object by object (copy, then delete)."""
        is_object = self.filesystem.get_file_info(self.path(source)).type == pafs.FileType.File
        if self.is_local or is_object:
            self.filesystem.create_dir(self.path(target).rsplit("/", 1)[0], recursive=True)
            self.filesystem.move(self.path(source), self.path(target))
            return
        start = len(source.strip("/")) + 1
        for obj in self.list(source):
            self.filesystem.copy_file(self.path(obj.key), self.path(f"{target}/{obj.key[start:]}"))
            self.delete(obj.key)
