"""Which data folder a command uses, and the checkout's recorded default.

``BIGD_DATA_DIR`` (environment or ``.env``) always wins. Without it, a command uses the
folder ``bigd demo`` recorded for this checkout (``<checkout>/.bigd-data-dir``, one
absolute path, git-ignored), so every command run after the demo, and a notebook opened in
Jupyter (whose kernel starts in ``notebooks/``), finds the demo's data from any folder.
Without a record, the default is ``./data``, relative to the folder the command runs in.

The checkout is ``paths.project_root()`` (``BIGD_HOME`` if set), so a wheel install that
has no checkout simply has no recorded default.
"""

from __future__ import annotations

import os
from pathlib import Path

RECORD_FILE = ".bigd-data-dir"
FALLBACK = Path("data")


def record_path() -> Path | None:
    """Where the checkout's default data folder is recorded (None without a checkout)."""
    from flows.paths import ProjectFilesNotFound, project_root

    try:
        return project_root() / RECORD_FILE
    except ProjectFilesNotFound:
        return None


def recorded() -> Path | None:
    """The recorded default data folder, if there is a record and the folder still exists."""
    path = record_path()
    try:
        folder = Path(path.read_text(encoding="utf-8").strip()) if path else None
    except OSError:
        return None
    return folder if folder is not None and folder.is_absolute() and folder.is_dir() else None


def record(folder: Path) -> Path | None:
    """Make ``folder`` (made absolute) this checkout's default data folder; the record file."""
    path = record_path()
    if path is not None:
        path.write_text(f"{Path(folder).resolve()}\n", encoding="utf-8")
    return path


def default_data_dir() -> Path:
    """The data folder when ``BIGD_DATA_DIR`` is not set: the recorded one, else ./data."""
    return recorded() or FALLBACK


def describe(data_dir: Path) -> str:
    """``/abs/folder (why this one)``, for a command's first line."""
    if os.environ.get("BIGD_DATA_DIR"):
        why = "BIGD_DATA_DIR"
    elif recorded() is not None and Path(data_dir) == recorded():
        why = f"recorded by `bigd demo` in {RECORD_FILE}"
    elif Path(data_dir) == FALLBACK:
        why = "default ./data; BIGD_DATA_DIR sets another"
    else:
        why = "BIGD_DATA_DIR in .env"
    return f"{Path(data_dir).resolve()} ({why})"
