"""flows.layout: the one spelling of lake keys and the one way outputs replace each other."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import layout
from flows.lake import Lake


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.mark.parametrize("good", ["2026-05", "1999-12"])
def test_check_release_accepts_year_month(good):
    assert layout.check_release(good) == good


@pytest.mark.parametrize("bad", ["2026-13", "2026-5", "2026-05 ", "2026-05'; DROP", "", None])
def test_check_release_refuses_anything_else(bad):
    with pytest.raises(ValueError, match="a release is YYYY-MM"):
        layout.check_release(bad)


def test_writers_and_the_loader_spell_the_same_keys():
    from flows.warehouse.tables import CNPJ_TABLES, PARTNER_TABLES, PUBLIC_TABLES

    establishments = next(s for s in CNPJ_TABLES if s.name == "establishments")
    assert establishments.source.format(release="2026-05") == layout.cnpj_table_prefix(
        "2026-05", "estabelecimentos"
    )
    assert {s.source for s in PARTNER_TABLES} == {
        layout.partner_trusted_prefix(t) for t in ("categories", "establishments", "sales")
    }
    population = next(s for s in PUBLIC_TABLES if s.name == "population")
    assert layout.public_trusted_key("population_municipalities").startswith(population.source)
    day = dt.date(2026, 3, 1)
    assert (
        layout.partner_trusted_prefix("sales", day) == "trusted/partner/sales/sale_date=2026-03-01"
    )


def test_write_atomically_replaces_and_leaves_no_temporary_object(lake):
    lake.write_bytes("trusted/x/data.bin", b"old")
    layout.write_atomically(lake, "trusted/x/data.bin", lambda sink: sink.write(b"new"))
    assert lake.read_bytes("trusted/x/data.bin") == b"new"
    assert [o.key for o in lake.list("trusted/x")] == ["trusted/x/data.bin"]


def test_a_failed_atomic_write_keeps_the_previous_object(lake):
    lake.write_bytes("trusted/x/data.bin", b"old")

    def half_then_fail(sink):
        sink.write(b"ha")
        raise OSError("network gone")

    with pytest.raises(OSError, match="network gone"):
        layout.write_atomically(lake, "trusted/x/data.bin", half_then_fail)
    assert lake.read_bytes("trusted/x/data.bin") == b"old"
    assert [o.key for o in lake.list("trusted/x")] == ["trusted/x/data.bin"]


def test_replace_prefix_with_leaves_exactly_the_new_object(lake):
    lake.write_bytes("trusted/p/part-0.parquet", b"old")
    lake.write_bytes("trusted/p/part-1.parquet", b"older layout")
    layout.replace_prefix_with(lake, "trusted/p", "part-0.parquet", lambda s: s.write(b"new"))
    assert {o.key: lake.read_bytes(o.key) for o in lake.list("trusted/p")} == {
        "trusted/p/part-0.parquet": b"new"
    }


def test_swap_in_and_recovery_of_a_cut_swap(lake):
    final, staged = "trusted/cnpj/2026-05", "trusted/cnpj/_staging/2026-05/run-2"
    aside_root = "trusted/cnpj/_replaced/2026-05"
    lake.write_bytes(f"{final}/t/part-0.parquet", b"v1")
    lake.write_bytes(f"{staged}/t/part-0.parquet", b"v2")
    layout.swap_in(lake, staged, final, f"{aside_root}/run-2")
    assert lake.read_bytes(f"{final}/t/part-0.parquet") == b"v2"
    assert not lake.list(aside_root) and not lake.list(staged)
    # A swap cut after moving the previous output aside: recovery puts it back.
    lake.move(final, f"{aside_root}/run-3")
    layout.recover_swap(lake, final, aside_root)
    assert lake.read_bytes(f"{final}/t/part-0.parquet") == b"v2"
    assert not lake.list(aside_root)


def test_manifests_round_trip(lake):
    assert not layout.has_manifest(lake, "trusted/t")
    layout.write_manifest(lake, "trusted/t", {"parts": [{"key": "a", "rows": 2}], "rows": 2})
    assert layout.read_manifest(lake, "trusted/t")["rows"] == 2
    assert layout.manifest_key("trusted/t/") == "trusted/t/_SUCCESS.json"
