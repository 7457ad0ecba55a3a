"""A CNPJ release as a whole: idempotent re-runs, atomic swap, bad-row limit, downloads."""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest

from flows import layout
from flows.lake import Lake
from flows.sources.cnpj import download, store
from flows.sources.cnpj.release import BadRowRateExceeded, run_release
from tests.cnpj_fixtures import RELEASE, passthrough, run_unscrubbed, write_release


def snapshot(lake: Lake, zone: str = "trusted") -> dict[str, bytes]:
    prefix = f"{zone}/cnpj/{RELEASE}"
    return {o.key: lake.read_bytes(o.key) for o in lake.list(prefix) if "_SUCCESS" not in o.key}


def test_rerun_replaces_output_exactly(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=30)
    first = run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    second = run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert second.skipped_downloads == len(second.files) == 13 and second.fetched == 0
    assert snapshot(lake) == before  # same parts, same bytes: no duplicates
    table = pq.read_table(lake.path(f"trusted/cnpj/{RELEASE}/estabelecimentos"))
    assert table.num_rows == 60 == first.tables()["estabelecimentos"]
    assert len(table.column("cnpj").unique()) == 60
    manifest = layout.read_manifest(lake, f"trusted/cnpj/{RELEASE}/estabelecimentos")
    assert manifest["rows"] == 60 and manifest["run_id"] == second.run_id
    assert not lake.list("trusted/cnpj/_staging") and not lake.list("trusted/cnpj/_replaced")


def test_crash_mid_write_keeps_previous_output(tmp_path, lake, monkeypatch):
    write_release(tmp_path / "src", rows_per_file=30)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    writes = {"count": 0}
    real_write = pq.ParquetWriter.write_table

    def crash_on_fifth(self, *args, **kwargs):
        writes["count"] += 1
        if writes["count"] == 5:
            raise OSError("disk vanished")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", crash_on_fifth)
    with pytest.raises(OSError, match="disk vanished"):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert snapshot(lake) == before
    assert pq.read_table(lake.path(f"trusted/cnpj/{RELEASE}/socios")).num_rows == 60


def test_swap_cut_between_renames_is_recovered(tmp_path, lake, monkeypatch):
    write_release(tmp_path / "src", rows_per_file=10)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    real_move = Lake.move

    def die_after_moving_aside(lake_, source, target):
        real_move(lake_, source, target)
        if "_replaced" in target:
            raise KeyboardInterrupt  # the process dies between the two renames

    monkeypatch.setattr(Lake, "move", die_after_moving_aside)
    with pytest.raises(KeyboardInterrupt):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")
    monkeypatch.setattr(Lake, "move", real_move)
    store.recover(lake, RELEASE)
    assert snapshot(lake) == before


def test_too_many_bad_rows_fails_naming_the_file(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=10)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    lake.delete_prefix(f"raw/cnpj/{RELEASE}")  # a corrected re-publication, old raw moved aside
    lake.delete_prefix(f"state/cnpj/raw/{RELEASE}")
    bad = {"Socios1.zip": {4: b'"short"\n'}}
    write_release(tmp_path / "src2", rows_per_file=10, bad_lines=bad)
    with pytest.raises(BadRowRateExceeded, match=r"Socios1\.zip \(10\.000%\)"):
        run_release(lake, RELEASE, str(tmp_path / "src2"), passthrough, tmp_path / "w", 0.001)
    assert snapshot(lake) == before


class _Handler(SimpleHTTPRequestHandler):
    """Static files with Range, an MD5 ETag, and one connection cut halfway."""

    cut_once: set[str]

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()  # noqa: SIM115 - tiny test files
        except OSError:
            return super().send_head()
        start = 0
        header = self.headers.get("Range")
        if header:
            start = int(header.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", f'"{hashlib.md5(data).hexdigest()}"')
        self.end_headers()
        self.range_requests.append(header)
        body = data[start:]
        if self.command == "GET" and self.path in self.cut_once:
            self.cut_once.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        import io

        return io.BytesIO(body)


@pytest.fixture
def http_source(tmp_path):
    folder = tmp_path / "site"
    write_release(folder / RELEASE, rows_per_file=200)
    handler = type("Handler", (_Handler,), {"cut_once": set(), "range_requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler, folder
    server.shutdown()
    server.server_close()


@pytest.mark.integration
def test_download_resumes_after_dropped_connection(tmp_path, lake, http_source):
    base, handler, folder = http_source
    handler.cut_once.add(f"/{RELEASE}/Estabelecimentos1.zip")
    location = download.release_location(RELEASE, base)
    assert len(download.list_release(location)) == 13
    fetched = download.fetch(lake, RELEASE, location, "Estabelecimentos1.zip", tmp_path / "w")
    original = (folder / RELEASE / "Estabelecimentos1.zip").read_bytes()
    assert lake.read_bytes(fetched.key) == original
    assert fetched.md5 == hashlib.md5(original).hexdigest() and not fetched.skipped
    resumed = [r for r in handler.range_requests if r]
    assert len(resumed) == 1 and int(resumed[0][6:-1]) > 0  # continued, not restarted
    again = download.fetch(lake, RELEASE, location, "Estabelecimentos1.zip", tmp_path / "w")
    assert again.skipped


@pytest.mark.integration
def test_release_from_http_matches_release_from_folder(tmp_path, http_source):
    base, _, folder = http_source
    over_http = Lake.from_url(str(tmp_path / "lake1"))
    from_folder = Lake.from_url(str(tmp_path / "lake2"))
    run_unscrubbed(over_http, tmp_path, base)
    run_unscrubbed(from_folder, tmp_path, folder / RELEASE)
    assert snapshot(over_http).keys() == snapshot(from_folder).keys()
    for key in snapshot(over_http):
        if key.endswith(".parquet"):
            assert pq.read_table(over_http.path(key)).equals(pq.read_table(from_folder.path(key)))


def test_raw_files_are_immutable(tmp_path, lake):
    write_release(tmp_path / "src", rows_per_file=10)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    write_release(tmp_path / "src", rows_per_file=11)
    with pytest.raises(download.DownloadError, match="immutable"):
        run_unscrubbed(lake, tmp_path, tmp_path / "src")


def test_rows_planted_by_the_sample_generator_are_quarantined_at_their_lines(tmp_path, lake):
    import json

    from flows.sample import generate_release
    from flows.sources.cnpj.quarantine import read_quarantine

    generate_release(tmp_path / "release", establishments=3000, seed=7)
    manifest = json.loads((tmp_path / "release" / "MANIFEST.json").read_text())
    planted = {
        (row["file"].removeprefix("cnpj/"), row["line"]) for row in manifest["malformed_rows"]
    }
    summary = run_unscrubbed(lake, tmp_path, tmp_path / "release" / "cnpj")
    found = {
        (row["file"], row["line"])
        for obj in lake.list(f"quarantine/cnpj/{RELEASE}")
        for row in read_quarantine(lake, obj.key)
    }
    assert planted and found == planted
    assert sum(f.rows_quarantined for f in summary.files) == len(planted)


@pytest.mark.integration
def test_rerun_on_s3_lake_replaces_output(tmp_path, s3_bucket):
    endpoint, bucket = s3_bucket
    lake = Lake.from_url(f"s3://{bucket}/bigd", endpoint)
    write_release(tmp_path / "src", rows_per_file=20)
    run_unscrubbed(lake, tmp_path, tmp_path / "src")
    before = snapshot(lake)
    second = run_unscrubbed(lake, tmp_path, tmp_path / "src")
    assert snapshot(lake) == before and second.skipped_downloads == 13
    manifest = layout.read_manifest(lake, f"trusted/cnpj/{RELEASE}/socios")
    assert manifest["rows"] == 40 and manifest["run_id"] == second.run_id
    assert [p["key"] for p in manifest["parts"]] == ["part-00000.parquet", "part-01000.parquet"]
    assert not lake.list("trusted/cnpj/_staging") and not lake.list("trusted/cnpj/_replaced")


@pytest.mark.integration
def test_a_corrupt_download_is_dropped_and_the_corrected_file_is_fetched(
    tmp_path, lake, http_source
):
    from tests.sources.cnpj.test_data_loss import _corrupt

    base, _, folder = http_source
    served = folder / RELEASE / "Empresas1.zip"
    good = served.read_bytes()
    _corrupt(served)
    location = download.release_location(RELEASE, base)
    with pytest.raises(download.DownloadError, match=r"Empresas1\.zip: corrupt zip"):
        download.fetch(lake, RELEASE, location, "Empresas1.zip", tmp_path / "w")
    assert not lake.exists(f"raw/cnpj/{RELEASE}/Empresas1.zip")
    assert not list((tmp_path / "w").rglob("*.part"))  # not resumed into the next try
    served.write_bytes(good)
    fetched = download.fetch(lake, RELEASE, location, "Empresas1.zip", tmp_path / "w")
    assert lake.read_bytes(fetched.key) == good
