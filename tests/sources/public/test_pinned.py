"""Choosing where a run reads, and the pinned (size + sha256) resumable download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from typing import ClassVar

import pytest

from flows.lake import Lake
from flows.sources.cnpj.download import DownloadError
from flows.sources.public import CatalogError, load_catalog, plan
from flows.sources.public.catalog import ProductionSpec
from flows.sources.public.pinned import fetch_pinned, pinned_key

POF_URL = load_catalog().datasets["pof_food_spending"].production.location


def test_production_reads_ibge_addresses_and_both_pof_datasets_share_the_pinned_zip():
    planned = {p.name: p for p in plan(load_catalog(), production=True)}
    assert planned["pof_food_spending"].location == POF_URL
    assert planned["ipm_nm_uf"].location == POF_URL
    assert planned["pof_food_spending"].pin == planned["ipm_nm_uf"].pin
    assert planned["pof_food_spending"].pin.size == 146_294_013
    assert planned["population_municipalities"].location.endswith("POP2025_20260113.xls")


def test_location_reads_one_dataset_from_another_file_without_the_pin(tmp_path):
    other = str(tmp_path / "estimativa_dou_2020.xls")
    [planned] = plan(load_catalog(), "population_municipalities", location=other)
    assert planned.location == other and planned.pin is None
    with pytest.raises(CatalogError, match="name it with --dataset"):
        plan(load_catalog(), location=other)


def test_a_file_already_in_the_lake_is_not_downloaded_again(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    data = b"PK fake zip"
    pin = ProductionSpec(
        location="https://ibge.example/Dados.zip",
        format="fixed_width",
        landing_page="https://ibge.example/",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    key = pinned_key(pin, "Dados.zip")
    lake.write_bytes(key, data)
    # No server answers at this address: returning the key proves nothing was fetched.
    assert fetch_pinned("https://127.0.0.1:9/Dados.zip", pin, lake, tmp_path) == key


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "ibge"
    folder.mkdir()
    (folder / "Dados.zip").write_bytes(b"PK" + bytes(range(256)) * 400)
    handler = functools.partial(_Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.requests = []
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/Dados.zip"
    server.shutdown()
    server.server_close()
    thread.join()


def _pin(data: bytes, sha256: str | None = None) -> ProductionSpec:
    return ProductionSpec(
        location="https://ibge.example/Dados.zip",
        format="fixed_width",
        landing_page="https://ibge.example/",
        size=len(data),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
    )


@pytest.mark.integration
def test_pinned_download_is_verified_stored_once_and_reused(served, tmp_path):
    folder, url = served
    data = (folder / "Dados.zip").read_bytes()
    lake = Lake.from_url(str(tmp_path / "lake"))
    pin = _pin(data)

    key = fetch_pinned(url, pin, lake, tmp_path / "work")
    again = fetch_pinned(url, pin, lake, tmp_path / "work")

    assert key == again == f"raw/public/pinned/{pin.sha256}/Dados.zip"
    assert lake.read_bytes(key) == data
    assert _Handler.requests == ["/Dados.zip"]  # the second dataset finds it in the lake
    assert not list((tmp_path / "work").glob("*.part"))


@pytest.mark.integration
def test_a_download_that_does_not_match_the_pin_fails_and_stores_nothing(served, tmp_path):
    folder, url = served
    lake = Lake.from_url(str(tmp_path / "lake"))
    pin = _pin((folder / "Dados.zip").read_bytes(), sha256="0" * 64)

    with pytest.raises(DownloadError, match=r"sha256 .* does not match the catalog's 0000"):
        fetch_pinned(url, pin, lake, tmp_path / "work")
    assert lake.list("raw/") == []
    assert not list((tmp_path / "work").glob("*.part"))
