"""The CNPJ data-loss cases of issue 10, each reproduced on the code before its fix.

Concurrent runs of one release, a re-run from a partial folder, a UTF-8 file read as
Latin-1, a corrupt or empty zip: each must fail loudly (naming the file or the holder)
and leave the previous complete release exactly as it was.
"""

from __future__ import annotations

import json
import threading
import zipfile

import pyarrow.parquet as pq
import pytest

from flows.lake import Lake
from flows.sources.cnpj import download
from flows.sources.cnpj import release as cnpj_release
from tests.cnpj_fixtures import RELEASE, receita_line, run_unscrubbed, write_release, write_zip


def snapshot(lake: Lake) -> dict[str, bytes]:
    """Every published object of the release (trusted and quarantine, manifests included)."""
    keys = [o.key for z in ("trusted", "quarantine") for o in lake.list(f"{z}/cnpj/{RELEASE}")]
    return {key: lake.read_bytes(key) for key in keys}


def manifests_point_at_files(lake: Lake) -> list[str]:
    """Parts listed by a table manifest that are not in the lake."""
    missing = []
    for obj in lake.list(f"trusted/cnpj/{RELEASE}"):
        if obj.key.endswith("/_SUCCESS.json") and obj.key.count("/") == 4:
            table = obj.key.rsplit("/", 1)[0]
            for part in json.loads(lake.read_bytes(obj.key))["parts"]:
                if not lake.exists(f"{table}/{part['key']}"):
                    missing.append(f"{table}/{part['key']}")
    return missing


# ---- two runs of one release -------------------------------------------------------------


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.integration)])
def any_lake(request, tmp_path) -> Lake:
    """A folder lake (file lock) and an S3 lake on moto (conditional-write lease)."""
    if request.param == "folder":
        return Lake.from_url(str(tmp_path / "lake"))
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    return Lake.from_url(f"s3://{bucket}/bigd", endpoint)


def test_a_second_run_of_a_release_refuses_and_never_deletes_the_live_run(
    tmp_path, any_lake, monkeypatch
):
    """Two real runs on two threads: the second starts while the first is parsing."""
    lake = any_lake
    write_release(tmp_path / "src", rows_per_file=20)
    first_parsing, second_done = threading.Event(), threading.Event()
    real_ingest = cnpj_release.ingest_file
    first_thread: list[threading.Thread] = []

    def slow_first_run(*args, **kwargs):
        if threading.current_thread() in first_thread and not first_parsing.is_set():
            first_parsing.set()
            second_done.wait(timeout=60)  # the second run does all it can meanwhile
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(cnpj_release, "ingest_file", slow_first_run)
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            outcome["first"] = run_unscrubbed(lake, tmp_path / "a", tmp_path / "src")
        except BaseException as error:  # reported by the assertions below
            outcome["first"] = error

    thread = threading.Thread(target=first)
    first_thread.append(thread)
    thread.start()
    assert first_parsing.wait(timeout=60)
    try:
        with pytest.raises(cnpj_release.ReleaseLocked, match=r"2026-05 .*being ingested by"):
            run_unscrubbed(lake, tmp_path / "b", tmp_path / "src")
    finally:
        second_done.set()
        thread.join(timeout=120)
    assert isinstance(outcome["first"], cnpj_release.ReleaseSummary), outcome["first"]
    assert manifests_point_at_files(lake) == []
    table = pq.read_table(
        lake.path(f"trusted/cnpj/{RELEASE}/estabelecimentos"), filesystem=lake.filesystem
    )
    assert table.num_rows == 40
    # Once the first run is over, the release is free again.
    assert run_unscrubbed(lake, tmp_path / "c", tmp_path / "src").tables()["estabelecimentos"] == 40


# ---- a re-run from a partial folder ----------------------------------------------------


def test_a_rerun_from_a_folder_missing_files_refuses_and_keeps_the_release(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=10)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "Cnaes.zip").write_bytes((tmp_path / "src" / "Cnaes.zip").read_bytes())
    with pytest.raises(cnpj_release.IncompleteRelease, match=r"Estabelecimentos0\.zip"):
        run_unscrubbed(lake, tmp_path, partial)
    assert snapshot(lake) == before


def test_a_partial_rerun_keeps_the_previous_quarantine(tmp_path, lake):
    bad = {"Socios1.zip": {3: b'"short"\n'}}
    write_release(tmp_path / "src", rows_per_file=2000, bad_lines=bad)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert lake.exists(f"quarantine/cnpj/{RELEASE}/Socios1.jsonl")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "Socios1.zip").write_bytes((tmp_path / "src" / "Socios1.zip").read_bytes())
    with pytest.raises(cnpj_release.IncompleteRelease):
        run_unscrubbed(lake, tmp_path, partial)
    assert lake.exists(f"quarantine/cnpj/{RELEASE}/Socios1.jsonl")


# ---- encoding ----------------------------------------------------------------------------


def test_a_utf8_file_read_as_latin1_is_quarantined_and_fails_naming_the_file(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=10)
    rows = [["1011101", "Cultivo de arroz"], ["1031700", "Fabricação de conservas de frutas"]]
    lines = [(";".join(f'"{f}"' for f in row) + "\n").encode("utf-8") for row in rows]
    write_zip(tmp_path / "src" / "Cnaes.zip", lines)
    with pytest.raises(cnpj_release.BadRowRateExceeded, match=r"Cnaes\.zip"):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert not lake.exists(f"trusted/cnpj/{RELEASE}/cnaes")
    (row,) = _quarantined(lake, "Cnaes")  # the line without accents decodes the same
    assert row["line"] == 2 and "UTF-8" in row["reason"] and "descricao" in row["reason"]


def _quarantined(lake: Lake, stem: str) -> list[dict]:
    from flows.sources.cnpj.quarantine import read_quarantine

    keys = [o.key for o in lake.list("quarantine/cnpj") if o.key.endswith(f"/{stem}.jsonl")]
    return [row for key in keys for row in read_quarantine(lake, key)]


# ---- bad zips ----------------------------------------------------------------------------


def _corrupt(path) -> None:
    """Flip bytes inside the compressed data: the zip still opens, its CRC fails."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 5, start + 25):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    assert zipfile.is_zipfile(path)  # passes the only check the old code made


def test_a_corrupt_zip_never_enters_raw_and_the_corrected_rerun_works(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=200)
    good = (tmp_path / "src" / "Empresas1.zip").read_bytes()
    _corrupt(tmp_path / "src" / "Empresas1.zip")
    with pytest.raises(download.DownloadError, match=r"Empresas1\.zip: .*corrupt"):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert not lake.exists(f"raw/cnpj/{RELEASE}/Empresas1.zip")
    (tmp_path / "src" / "Empresas1.zip").write_bytes(good)
    summary = run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert summary.tables()["empresas"] == 400


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        ("empty-zip", "no CSV inside"),
        ("empty-member", "CSV inside is empty"),
    ],
)
def test_empty_files_and_zips_fail_naming_the_file(tmp_path, lake, content, problem):
    write_release(tmp_path / "src", rows_per_file=10)
    target = tmp_path / "src" / "Socios0.zip"
    if content == "empty-zip":
        with zipfile.ZipFile(target, "w"):
            pass
    elif content == "empty-member":
        write_zip(target, [])
    else:
        target.write_bytes(content)
    with pytest.raises(download.DownloadError, match=rf"Socios0\.zip: .*{problem}"):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert not lake.exists(f"raw/cnpj/{RELEASE}/Socios0.zip")


def test_a_local_source_zip_is_hashed_once(tmp_path, lake, monkeypatch):
    write_release(tmp_path / "src", rows_per_file=5)
    hashed: list[str] = []
    real_md5 = download.md5_of

    def counting(path):
        hashed.append(path.name)
        return real_md5(path)

    monkeypatch.setattr(download, "md5_of", counting)
    download.fetch(lake, RELEASE, str(tmp_path / "src"), "Cnaes.zip", tmp_path / "work")
    assert hashed == ["Cnaes.zip"]


def test_unchanged_rows_still_parse_after_the_fixes(tmp_path, lake):
    """Latin-1 text with accents and symbols (JOÃO, Nº, 1ª) is not mistaken for mojibake."""
    write_release(tmp_path / "src", rows_per_file=10)
    rows = [["5611201", "Restaurantes e similares - Nº 1ª JOÃO ÁGUA"], ["4711302", "Açaí"]]
    write_zip(tmp_path / "src" / "Cnaes.zip", [receita_line(row) for row in rows])
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    table = pq.read_table(lake.path(f"trusted/cnpj/{RELEASE}/cnaes"))
    assert table.column("descricao").to_pylist() == [row[1] for row in rows]


def test_the_fetch_task_does_not_retry_on_top_of_the_download():
    """The download retries transient trouble itself; a task retry would multiply it."""
    from flows.cnpj_flow import fetch_cnpj_file, parse_cnpj_file

    assert fetch_cnpj_file.retries == 0 and parse_cnpj_file.retries == 0
