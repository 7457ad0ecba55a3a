"""Flow ``ingest_cnpj``: a Receita CNPJ release into ``raw/``, ``trusted/`` and ``quarantine/``.

One task per file fetches it, one per file parses it; files run in parallel on threads, or
on a Dask cluster with ``BIGD_TASK_RUNNER=dask`` (``BIGD_DASK_ADDRESS`` or a local
cluster). Dask workers read their own ``BIGD_*`` settings, so give them the same ones.
Nothing reaches ``trusted/`` until every file is parsed and scrubbed; then the release's
outputs are swapped in at once (see ``flows.sources.cnpj.store``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.config import Settings, get_settings
from flows.lake import Lake
from flows.resources import Resources
from flows.sources.cnpj import download, store
from flows.sources.cnpj import release as cnpj_release
from flows.sources.cnpj.download import Fetched
from flows.sources.cnpj.ingest import FileSummary, scrub_with_policy


def work_dir(settings: Settings) -> Path:
    """Where partial downloads wait (local disk, resumable)."""
    return settings.data_dir / "downloads" / "cnpj"


def _lake(settings: Settings) -> Lake:
    return Resources(settings).lake


@task(name="fetch-cnpj-file", retries=2, retry_delay_seconds=[5, 30])
def fetch_cnpj_file(release_name: str, location: str, name: str) -> Fetched:
    """Bring one zip into ``raw/cnpj/<release>/`` (skipped when already there)."""
    settings = get_settings()
    return cnpj_release.fetch_file(
        _lake(settings), release_name, location, name, work_dir(settings)
    )


@task(name="parse-cnpj-file")
def parse_cnpj_file(
    release_name: str,
    run_id: str,
    name: str,
    cnaes: list[str] | None = None,
    ufs: list[str] | None = None,
) -> FileSummary:
    """Raw zip -> staged, scrubbed Parquet and quarantine (no retries: it is deterministic)."""
    settings = get_settings()
    scrubber = scrub_with_policy(settings.pseudonym_secret())
    return cnpj_release.process_file(
        _lake(settings), release_name, run_id, name, scrubber, cnaes=cnaes, ufs=ufs
    )


def task_runner(settings: Settings):
    """Threads or Dask, as the resources decide."""
    return Resources(settings).task_runner(max_workers=4)


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
        parse_cnpj_file.submit(release_name, run_id, name, cnaes, ufs, wait_for=[fetches[name]])
        for name in names
    ]
    return [future.result() for future in fetches.values()], [f.result() for f in parses]


@flow(name="ingest_cnpj")
def ingest_cnpj(
    release: str | None = None,
    source: str | None = None,
    cnae: list[str] | None = None,
    uf: list[str] | None = None,
) -> cnpj_release.ReleaseSummary:
    """Ingest one CNPJ release (``YYYY-MM``; default: the latest published) from the
    Receita's site, a URL or a folder."""
    return _ingest(release, source, cnae, uf)


def _ingest(
    release_name: str | None, source: str | None, cnaes: list[str] | None, ufs: list[str] | None
) -> cnpj_release.ReleaseSummary:
    settings = get_settings()
    if release_name is None:
        release_name = download.latest_release(source or settings.cnpj_base_url)
        get_run_logger().info("latest CNPJ release published: %s", release_name)
    cnpj_release.check_release(release_name)
    settings.pseudonym_secret()  # fail before any work when the key is missing
    lake = _lake(settings)
    store.recover(lake, release_name)
    location = download.release_location(release_name, source or settings.cnpj_base_url)
    names = download.list_release(location)
    if not names:
        raise FileNotFoundError(f"no CNPJ zips found in {location}")
    summary = cnpj_release.ReleaseSummary(release=release_name, run_id=cnpj_release.new_run_id())
    files_flow = ingest_cnpj_files.with_options(task_runner=task_runner(settings))
    try:
        fetched, summary.files = files_flow(
            release_name, summary.run_id, location, names, cnaes, ufs
        )
    except BaseException:
        cnpj_release.abandon(lake, release_name, summary.run_id)
        raise
    summary.fetched = sum(not f.skipped for f in fetched)
    summary.skipped_downloads = sum(f.skipped for f in fetched)
    try:
        cnpj_release.finish(
            lake, summary, settings.max_bad_row_rate, scope=cnpj_release.scope_of(cnaes, ufs)
        )
    finally:
        _publish_artifacts(summary)
    download.remove_work_file(work_dir(settings), release_name)
    return summary


def _publish_artifacts(summary: cnpj_release.ReleaseSummary) -> None:
    key = f"cnpj-{summary.release}".replace("_", "-").lower()
    create_table_artifact(
        key=key,
        table=summary.rows(),
        description=f"CNPJ release {summary.release}: rows read, written, quarantined per file",
    )
    reports = [f.scrub_report for f in summary.files if f.scrub_report is not None]
    if reports:
        merged = reports[0]
        for report in reports[1:]:
            merged = merged.merge(report)
        create_table_artifact(
            key=f"{key}-scrub",
            table=merged.to_rows(),
            description=f"CNPJ release {summary.release}: what the scrub policy did",
        )
