"""Flow ``ingest_cnpj``: a Receita CNPJ release into ``raw/``, ``trusted/`` and ``quarantine/``.

The sequence is ``flows.sources.cnpj.release.run_release``, the same one the tests drive;
this module only supplies its parallel map: one task per file fetches it, one per file
parses it, on the runner the resources choose (threads, or a Dask cluster with
``BIGD_TASK_RUNNER=dask``; Dask workers read their own ``BIGD_*`` settings, so give them
the same ones). Nothing reaches ``trusted/`` until every file is parsed and scrubbed;
then the release's outputs are swapped in at once (see ``flows.sources.cnpj.store``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.config import Settings
from flows.resources import get_resources
from flows.run_artifacts import publish_run
from flows.runs import RunSummary
from flows.sources.cnpj import download
from flows.sources.cnpj import release as cnpj_release
from flows.sources.cnpj.download import Fetched
from flows.sources.cnpj.ingest import FileSummary, scrub_with_policy

# Fetches and parses running at once. Parses are further bounded by memory inside the
# process (``flows.sources.cnpj.memory``); downloads are I/O and may overlap them.
RUNNER_WORKERS = 4


def work_dir(settings: Settings) -> Path:
    """Where partial downloads wait (local disk, resumable)."""
    return settings.data_dir / "downloads" / "cnpj"


def _job(release_name: str, location: str, cnaes=None, ufs=None) -> cnpj_release.ReleaseJob:
    """The run's job rebuilt from settings (a Dask worker has only its own settings)."""
    resources = get_resources()
    scrubber = scrub_with_policy(resources.pseudonym_key())
    return cnpj_release.ReleaseJob(
        resources.lake, release_name, location, work_dir(resources.settings), scrubber, cnaes, ufs
    )


# No retries here: the download retries transient trouble itself (flows.retry), and
# whatever reaches the task (a 404, a corrupt zip) cannot heal by trying again.
@task(name="fetch-cnpj-file")
def fetch_cnpj_file(release_name: str, location: str, name: str) -> Fetched:
    """Bring one zip, verified, into ``raw/cnpj/<release>/`` (skipped when already there)."""
    return _job(release_name, location).fetch(name)


@task(name="parse-cnpj-file")
def parse_cnpj_file(
    release_name: str,
    run_id: str,
    location: str,
    name: str,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
) -> FileSummary:
    """Raw zip -> staged, scrubbed Parquet and quarantine (no retries: it is deterministic)."""
    return _job(release_name, location, cnaes, ufs).process(run_id, name)


@flow(name="ingest_cnpj_files")
def ingest_cnpj_files(
    release_name: str,
    run_id: str,
    location: str,
    names: list[str],
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
) -> tuple[list[Fetched], list[FileSummary]]:
    """Fetch then parse every file, one task each, on the runner the settings chose."""
    fetches = {name: fetch_cnpj_file.submit(release_name, location, name) for name in names}
    parses = [
        parse_cnpj_file.submit(
            release_name,
            run_id,
            location,
            name,
            cnaes,
            ufs,
            wait_for=[fetches[name]],  # type: ignore[call-overload]
        )
        for name in names
    ]
    return [future.result() for future in fetches.values()], [f.result() for f in parses]


def prefect_map(job: cnpj_release.ReleaseJob, run_id: str, names: list[str]):
    """``run_release``'s map: the files as Prefect tasks, in parallel."""
    runner = get_resources().task_runner(max_workers=RUNNER_WORKERS)
    files_flow = ingest_cnpj_files.with_options(task_runner=runner)
    return files_flow(job.release, run_id, job.location, names, job.cnaes, job.ufs)


@flow(name="ingest_cnpj")
def ingest_cnpj(
    release: str | None = None,
    source: str | None = None,
    cnae: list[str] | None = None,
    uf: list[str] | None = None,
) -> RunSummary:
    """Ingest one CNPJ release (``YYYY-MM``; default: the latest published) from the
    Receita's site, a URL or a folder."""
    resources = get_resources()
    settings = resources.settings
    if release is None:
        release = download.latest_release(source or settings.cnpj_base_url)
        get_run_logger().info("latest CNPJ release published: %s", release)
    cnpj_release.check_release(release)
    scrubber = scrub_with_policy(resources.pseudonym_key())  # fails before any work
    try:
        summary = cnpj_release.run_release(
            resources.lake,
            release,
            source or settings.cnpj_base_url,
            scrubber,
            work_dir(settings),
            settings.max_bad_row_rate,
            cnae,
            uf,
            map_files=prefect_map,
        )
    except cnpj_release.BadRowRateExceeded as error:
        publish_run(error.summary.run_summary())  # the per-file counts say where to look
        raise
    run = summary.run_summary()
    publish_run(run)
    return run
