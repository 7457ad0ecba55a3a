"""The lake behaves the same on a local folder and on a real S3 API."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.lake import Lake


@pytest.fixture(params=["folder", "s3"])
def lake(request, tmp_path):
    if request.param == "folder":
        return Lake.from_url(str(tmp_path / "lake"))
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    return Lake.from_url(f"s3://{bucket}/bigd", s3_endpoint_url=endpoint)


def test_write_read_list_delete(lake):
    lake.write_bytes("raw/partner/sales/2026-01-01/sales.json", b"[]")
    lake.write_bytes("trusted/cnpj/2026-11/empresas/part-0.parquet", b"PAR1")
    assert lake.read_bytes("raw/partner/sales/2026-01-01/sales.json") == b"[]"
    assert lake.exists("raw/partner/sales/2026-01-01/sales.json")
    assert lake.size("trusted/cnpj/2026-11/empresas/part-0.parquet") == 4
    assert lake.size("nothing/here") is None
    assert [o.key for o in lake.list("raw")] == ["raw/partner/sales/2026-01-01/sales.json"]
    assert len(lake.list()) == 2
    lake.delete_prefix("raw/partner")
    assert [o.key for o in lake.list()] == ["trusted/cnpj/2026-11/empresas/part-0.parquet"]
    lake.delete_prefix("raw/never-written")  # missing is fine


def test_parquet_goes_through_the_filesystem(lake):
    table = pa.table({"uf": ["SP", "RJ"], "establishments": [3, 2]})
    pq.write_table(table, lake.writable_path("trusted/x/data.parquet"), filesystem=lake.filesystem)
    assert pq.read_table(lake.path("trusted/x/data.parquet"), filesystem=lake.filesystem) == table


def test_keys_cannot_climb_out(lake):
    with pytest.raises(ValueError, match="climb out"):
        lake.path("raw/../../etc/passwd")


def test_uri_names_the_backend(lake):
    uri = lake.uri("trusted/x")
    assert uri.startswith(("file:///", "s3://")) and uri.endswith("/trusted/x")


def test_move_renames_an_object_or_a_whole_prefix(lake):
    lake.write_bytes("state/tmp/run-1/a/part-0.parquet", b"A")
    lake.write_bytes("state/tmp/run-1/b.json", b"B")
    lake.move("state/tmp/run-1", "trusted/x/current")
    assert lake.list("state/tmp") == []
    assert [o.key for o in lake.list("trusted/x")] == [
        "trusted/x/current/a/part-0.parquet",
        "trusted/x/current/b.json",
    ]
    lake.move("trusted/x/current/b.json", "trusted/y/b.json")
    assert lake.read_bytes("trusted/y/b.json") == b"B"
    assert not lake.exists("trusted/x/current/b.json")


def test_a_read_cut_by_a_concurrent_replace_is_read_again(tmp_path):
    """S3 reads the size, then the bytes: an object rewritten longer in between (a lease's
    heartbeat) came back cut (JSONDecodeError in a lock test). The lake reads it again."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    lake.write_bytes("lease.json", b'{"expires": 1.25}')
    real = lake.filesystem
    reads = []

    class Torn:
        """The first stream returns the object cut at its old length, as S3 would."""

        def open_input_stream(self, path):
            reads.append(path)
            if len(reads) == 1:
                return pa.BufferReader(b'{"expires": 1.2')
            return real.open_input_stream(path)

        def get_file_info(self, path):
            return real.get_file_info(path)

    lake.filesystem = Torn()
    assert lake.read_bytes("lease.json") == b'{"expires": 1.25}'
    assert len(reads) == 2
