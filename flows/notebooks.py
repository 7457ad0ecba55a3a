"""The notebook runner: run a parameterised notebook with papermill, the way the schedule
and a person do. Every notebook (the analysis, the infographic) runs through here.

The input notebook is never changed; each run writes an executed copy, the record of the
run. Parameters are checked against the notebook's own ``parameters`` cell before a kernel
starts; the kernel is the ``python3`` kernelspec of the interpreter running the flow.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows import layout
from flows.lake import Lake
from flows.paths import notebook_path

# The folder holding the ``flows`` package: the kernel imports ``flows`` from there.
PACKAGE_PARENT = Path(__file__).resolve().parents[1]
DEMAND = "demand_ensemble"
REPORT_PREFIX = layout.report_prefix("analysis")
KERNEL = "python3"
# How long one cell, and a whole notebook, may run: the one default of every notebook run.
CELL_TIMEOUT_SECONDS = 900.0
TIME_LIMIT_SECONDS = 3_600.0


class NotebookParameterError(ValueError):
    """The parameters do not match the notebook's ``parameters`` cell."""


class NotebookFailed(RuntimeError):
    """A cell raised, timed out, or the notebook ran past its wall-clock limit."""


new_run_id = layout.new_run_id  # the one generator (flows.layout)


def check_run_id(run_id: str) -> str:
    """``layout.check_run_id`` as a parameter error of the notebook run."""
    try:
        return layout.check_run_id(run_id)
    except layout.RunIdError as error:
        raise NotebookParameterError(str(error)) from None


def demand_notebook() -> Path:
    """The analysis notebook (``notebooks/demand_ensemble.ipynb``, found by flows.paths)."""
    return notebook_path(DEMAND)


def report_prefix(run_id: str, day: dt.date, name: str = layout.ANALYSIS) -> str:
    """``reports/<name>/<YYYY-MM-DD>/<run-id>``: where a run's record is kept."""
    return layout.report_folder(name, day.isoformat(), check_run_id(run_id))


def declared_parameters(notebook: Path) -> list[str]:
    """The names in the notebook's ``parameters`` cell."""
    import papermill

    declared = list(papermill.inspect_notebook(str(notebook)))
    if not declared:
        raise NotebookParameterError(f"{notebook.name} has no cell tagged 'parameters'")
    return declared


def check_parameters(notebook: Path, parameters: dict[str, object]) -> None:
    """Every declared parameter given, nothing else: a typo or a schedule that drifted
    from the notebook fails here, before a kernel starts."""
    declared = declared_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    missing = [name for name in declared if name not in parameters]
    problems = []
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)}")
    if missing:
        problems.append(f"missing parameter(s) {', '.join(missing)}")
    if problems:
        raise NotebookParameterError(
            f"{notebook.name}: {'; '.join(problems)} (it declares {', '.join(declared)})"
        )


@contextmanager
def _forward_logs(log: logging.Logger | logging.LoggerAdapter | None) -> Iterator[None]:
    """Papermill's progress (cells started, the notebook's printed lines) into ``log``."""
    if log is None:
        yield
        return

    target = log

    class Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage().rstrip()
            if message and "without encryption" not in message:
                target.info("notebook: %s", message)

    source = logging.getLogger("papermill")
    handler, level = Forward(level=logging.INFO), source.level
    source.addHandler(handler)
    source.setLevel(logging.INFO)
    try:
        yield
    finally:
        source.removeHandler(handler)
        source.setLevel(level)


@contextmanager
def _importable_project() -> Iterator[None]:
    """The kernel inherits this environment: let it import ``flows`` from any folder."""
    before = os.environ.get("PYTHONPATH")
    parts = [p for p in (before or "").split(os.pathsep) if p]
    if str(PACKAGE_PARENT) not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_PARENT), *parts])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _cell_error(executed: Path) -> str | None:
    """``cell N: Name: message`` of the first failed cell of an executed notebook."""
    import nbformat

    if not executed.is_file():
        return None
    notebook = nbformat.read(executed, as_version=4)
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {number}: {output.get('ename')}: {output.get('evalue')}"
    return None


def execute(
    notebook: Path,
    executed: Path,
    parameters: dict[str, object],
    *,
    cell_timeout: float,
    time_limit: float,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Path:
    """Run ``notebook`` into ``executed``; a failure raises NotebookFailed naming the cell
    and its error (the executed copy is written either way)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    deadline = time.monotonic() + time_limit
    bound_by_deadline = [False]  # was the running cell's budget cut short by the deadline?

    def cell_budget(cell) -> int:
        remaining = deadline - time.monotonic()
        bound_by_deadline[0] = remaining < cell_timeout
        return max(1, math.ceil(min(cell_timeout, remaining)))

    executed.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _forward_logs(log), _importable_project():
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=os.getcwd(),
                progress_bar=False,
                log_output=log is not None,
                timeout_func=cell_budget,
            )
    except PapermillExecutionError as error:
        raise NotebookFailed(
            f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue}"
        ) from None
    except TimeoutError as error:  # nbclient's CellTimeoutError
        over = bound_by_deadline[0]
        limit = f"its wall-clock limit of {time_limit:g} s" if over else f"{cell_timeout:g} s"
        raise NotebookFailed(f"{notebook.name}: a cell ran past {limit} ({error})") from None
    except Exception as error:  # a dead kernel, a kernel that would not start
        detail = _cell_error(executed) or f"{type(error).__name__}: {error}"
        raise NotebookFailed(f"{notebook.name} failed: {detail}") from None
    return executed


def keep(lake: Lake, prefix: str, folder: Path) -> list[str]:
    """Copy every file under ``folder`` to ``prefix`` in the lake; the keys written."""
    keys = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        lake.write_bytes(key, path.read_bytes())
        keys.append(key)
    return keys
