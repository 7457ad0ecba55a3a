"""Checks a command makes before it starts Prefect or a kernel, so that it says no in a
second, in one line naming what to run first, and creates nothing.

* ``require_lake``: a command that reads the lake (load, analyze, deliver, results, purge)
  with a local lake folder that does not exist: nothing was ingested in this data folder.
* ``warehouse_categories``: the partner categories of a loaded warehouse; a DuckDB file
  that does not exist is not created (it is opened read-only), and a warehouse without
  the core tables says to run ``bigd load``.
* ``check_categories``: every requested category is one of the partner's.
"""

from __future__ import annotations

from pathlib import Path

from flows.config import Settings

NEXT_AFTER_NOTHING = "run `bigd demo` (or `bigd ingest ...`) first"


class NothingToUse(RuntimeError):
    """The data a command needs is not there (one line naming what to run first)."""


def require_lake(settings: Settings) -> None:
    """A local lake folder must exist (an S3 lake is not checked here)."""
    root = settings.lake_root
    if root.startswith("s3://"):
        return
    if not Path(root).is_dir():
        raise NothingToUse(f"no lake at {Path(root).resolve()}: {NEXT_AFTER_NOTHING}")


def warehouse_categories(settings: Settings) -> list[str]:
    """The partner's category names in a loaded warehouse (core.categories)."""
    import sqlalchemy as sa

    url = sa.engine.make_url(settings.warehouse)
    query = "SELECT name FROM core.categories WHERE name IS NOT NULL ORDER BY name"
    if url.get_backend_name() == "duckdb":
        import duckdb

        path = Path(url.database or "")
        if not path.is_file():
            raise NothingToUse(f"no warehouse at {path}: run `bigd load` first")
        try:
            with duckdb.connect(str(path), read_only=True) as connection:
                connection.execute("SELECT 1 FROM core.establishments LIMIT 1")
                return [row[0] for row in connection.execute(query).fetchall()]
        except duckdb.Error as error:
            first = str(error).splitlines()[0]
            raise NothingToUse(
                f"the warehouse {path} is not loaded ({first}): run `bigd load` first"
            ) from None
    engine = sa.create_engine(settings.warehouse, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1 FROM core.establishments LIMIT 1"))
            return [row[0] for row in connection.execute(sa.text(query))]
    except sa.exc.ProgrammingError as error:
        first = str(error.orig).splitlines()[0]
        raise NothingToUse(
            f"the warehouse {url.render_as_string(hide_password=True)} is not loaded "
            f"({first}): run `bigd load` first"
        ) from None
    finally:
        engine.dispose()


def check_categories(requested: list[str], valid: list[str]) -> None:
    """Every requested category is a partner category (case as the partner writes it)."""
    import difflib

    unknown = [name for name in requested if name not in valid]
    if unknown:
        folded = {name.casefold(): name for name in valid}
        close = [match for name in unknown
                 for match in difflib.get_close_matches(name.casefold(), folded, n=1)]  # fmt: skip
        hint = f" (did you mean {', '.join(folded[m] for m in close)}?)" if close else ""
        raise ValueError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(repr(n) for n in unknown)}{hint}; the partner's categories are "
            f"{', '.join(valid) or '(none loaded)'}"
        )


def analysis_outputs(lake, run_id: str | None) -> str:
    """The lake key of an analysis run's output folder: the run ``run_id``, or the newest
    (by report date, then time written) when None."""
    runs = [obj for obj in lake.list("reports/analysis/")
            if obj.key.endswith("/outputs/metrics.json")]  # fmt: skip
    if not runs:
        raise NothingToUse(f"no analysis run in the lake {lake.uri_root}: run `bigd analyze` first")
    runs.sort(key=lambda obj: (obj.key.split("/")[2], obj.modified))
    if run_id is None:
        return runs[-1].key.rsplit("/", 1)[0]
    for obj in runs:
        if obj.key.split("/")[3] == run_id:
            return obj.key.rsplit("/", 1)[0]
    newest = ", ".join(obj.key.split("/")[3] for obj in reversed(runs[-5:]))
    raise ValueError(f"no analysis run {run_id!r} in the lake; the newest: {newest}")
