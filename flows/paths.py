"""Where the project's files outside the ``flows`` package are: ``notebooks/`` and friends.

The package carries what the flows read at run time (SQL, the catalog, the scrub policy)
as package data, so ``bigd`` works from any folder. The notebooks stay at the top level
of the checkout (they are edited and reviewed as notebooks, not shipped as code), so a
run finds them either in the checkout the package was installed from (``pip install -e .``,
or running from the repository) or in the folder ``BIGD_HOME`` names (a wheel install,
an image that copies ``notebooks/`` elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "BIGD_HOME"
_CHECKOUT = Path(__file__).resolve().parent.parent


class ProjectFilesNotFound(FileNotFoundError):
    """The project's top-level files are not where the package looked; names the fix."""


def project_root() -> Path:
    """The folder holding ``notebooks/``: ``$BIGD_HOME`` if set, else the checkout."""
    configured = os.environ.get(HOME_VARIABLE, "").strip()
    if configured:
        root = Path(configured).expanduser().resolve()
        if not (root / "notebooks").is_dir():
            raise ProjectFilesNotFound(f"{HOME_VARIABLE}={configured}: has no notebooks/ folder")
        return root
    if (_CHECKOUT / "notebooks").is_dir():
        return _CHECKOUT
    raise ProjectFilesNotFound(
        f"no notebooks/ folder beside the installed package ({_CHECKOUT}); set "
        f"{HOME_VARIABLE} to the Big D checkout (the folder that holds notebooks/)"
    )


def notebook_path(name: str) -> Path:
    """The notebook ``name`` (``.ipynb`` may be left out) under ``project_root()/notebooks``."""
    filename = name if name.endswith(".ipynb") else f"{name}.ipynb"
    if Path(filename).name != filename:
        raise ValueError(f"a notebook name, not a path: {name!r}")
    path = project_root() / "notebooks" / filename
    if not path.is_file():
        raise ProjectFilesNotFound(f"no notebook {filename} in {path.parent}")
    return path
