"""Process hygiene of a flow command: a short console, and nothing left behind when killed.

* **One line per failure.** Prefect's engine logs a failed flow or task run at ERROR level
  *with its traceback* to the console, so a failed command printed 25-270 lines before
  its own final line. ``quiet_prefect_console`` keeps every run log line on the console
  but drops the traceback from the console's copy (the API and the UI keep it), unless
  ``--verbose``.
* **Killed means stopped.** A command run without a Prefect server starts Prefect's
  temporary server (a uvicorn subprocess, ~250 MB) and stops it at exit, but SIGTERM
  kills Python without running its exit handlers, so the server was left running.
  ``install_signal_handlers`` turns SIGTERM and SIGINT into ``Terminated``; ``main()``
  then stops every child process of the command (``terminate_children``) and exits with
  128 + the signal number. During a flow run Prefect's own SIGTERM handler runs first
  (it marks the run Crashed) and then hands the signal on to ours.
* SIGKILL cannot be caught: a temporary server outlives a ``kill -9``'d command. The
  project server (``bigd server start``, ``flows/prefect_server.py``) avoids that by
  design: with it running, commands start no server of their own.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import suppress

# After the signal the run unwinds (Prefect marks it Crashed, staging is abandoned), which
# waits for the task threads already running (a file being parsed) to finish. The command
# stops at most this long after the signal however that goes (also if something swallows
# ``Terminated``); a second signal stops it at once.
FORCED_EXIT_AFTER_SECONDS = 10.0
_CONSOLE_NOISE = ("Stopping temporary server",)  # logged at exit, after the final line
_console_muted = False


class Terminated(BaseException):
    """SIGTERM or SIGINT reached the command (a BaseException, like KeyboardInterrupt,
    so ``except Exception`` blocks do not swallow it)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: int | None = None


def _on_signal(signum: int, _frame: object) -> None:
    global _received
    if _received is not None:  # a second signal: stop now
        stop_now(signum)
    _received = signum
    timer = threading.Timer(FORCED_EXIT_AFTER_SECONDS, stop_now, args=(signum,))
    timer.daemon = True
    timer.start()
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM and SIGINT raise ``Terminated`` in the main thread (call from it)."""
    global _received
    _received = None
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


def terminate_children(timeout: float = 5.0) -> int:
    """Terminate every descendant process of this one (Prefect's temporary server, a
    local Dask cluster, ...), kill those still alive after ``timeout``; how many there were.
    The project server is not among them: it runs in its own session."""
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return 0
    for child in children:
        with suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        with suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=2)
    return len(children)


def exit_now(code: int) -> None:
    """Leave at once: task threads still running are not waited for (``sys.exit`` would
    join them first, which can take as long as the rest of the run)."""
    with suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def stop_now(signum: int) -> None:
    """Stop the children and leave at once."""
    terminate_children()
    exit_now(128 + signum)


class _WithoutTraceback(logging.Formatter):
    """Formats a record with the wrapped formatter as if it carried no traceback. The
    record is restored afterwards, so other handlers (Prefect's API handler) keep it."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _console_muted and not str(record.msg).startswith(_CONSOLE_NOISE)


def mute_prefect_console() -> None:
    """After the command's last line: Prefect's exit-time lines (the events worker
    draining, the temporary server stopping) stay off a quiet console."""
    global _console_muted
    _console_muted = True


def without_traceback(handler: logging.Handler) -> None:
    """Make ``handler`` print records without their tracebacks (idempotent)."""
    if not isinstance(handler.formatter, _WithoutTraceback):
        handler.setFormatter(_WithoutTraceback(handler.formatter))


def quiet_prefect_console() -> None:
    """Prefect's console handlers print run logs without tracebacks and without the
    temporary server's closing line, and nothing once ``mute_prefect_console`` was
    called. Imports Prefect (which configures its logging)."""
    import prefect.main  # noqa: F401  (importing it runs Prefect's logging setup)
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()]
    loggers += [item for item in logging.Logger.manager.loggerDict.values()
                if isinstance(item, logging.Logger)]  # fmt: skip
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                without_traceback(handler)
                if not any(isinstance(item, _DropNoise) for item in handler.filters):
                    handler.addFilter(_DropNoise())
