"""IPM-NM per UF from the real MORADOR_QUALI_VIDA member, by IBGE's published method."""

from __future__ import annotations

import math
import zipfile

import pytest

from flows.municipalities import UF_BY_IBGE_PREFIX
from flows.sample.fixed_width import format_records
from flows.sources.public import DatasetError, load_catalog
from flows.sources.public.datasets import IPM_CUTOFF, RawFile, ipm_nm
from tests.sources.public.ibge_files import real_ibge_file


def _ipm(path) -> dict[str, dict]:
    catalog = load_catalog()
    table = ipm_nm(
        catalog.datasets["ipm_nm_uf"], catalog, RawFile(path.name, lambda: path.open("rb"))
    )
    return {row["uf"]: row for row in table.to_pylist()}


def test_ibge_published_figures_from_the_real_member():
    rows = _ipm(real_ibge_file("Dados_20230713_MORADOR_QUALI_VIDA.zip"))

    assert round(rows["BR"]["ipm_nm"], 1) == 2.3  # IBGE: Brasil 2017-2018
    assert round(rows["MA"]["ipm_nm"], 1) == 7.7  # IBGE: Maranhão 2017-2018
    assert set(rows) == {"BR", *UF_BY_IBGE_PREFIX.values()}
    assert rows["BR"]["uf_code"] == "BR" and rows["MA"]["uf_code"] == "21"
    assert {row["period"] for row in rows.values()} == {"2017-2018"}
    assert all(0 < row["poor_share"] < 1 for row in rows.values())
    # The poorest states by the index are in the North and Northeast, the least poor in the South.
    assert rows["MA"]["ipm_nm"] > rows["BR"]["ipm_nm"] > rows["SC"]["ipm_nm"]


def _member(tmp_path, people: list[tuple[str, float, float]]):
    layout = load_catalog().layouts["MORADOR_QUALI_VIDA"]
    data = format_records(
        layout,
        {
            "UF": [p[0] for p in people],
            "CONTAGEM_PONDERADA": [p[1] for p in people],
            "PESO_FINAL": [p[2] for p in people],
        },
        {"CONTAGEM_PONDERADA": 10, "PESO_FINAL": 8},
    )
    path = tmp_path / "Dados_20230713.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MORADOR_QUALI_VIDA.txt", data)
    return path


def test_the_method_worked_out_by_hand(tmp_path):
    # One poor person (CI = 0.5) and one not poor (CI = 0.1) in SP, weights 1 and 3.
    rows = _ipm(_member(tmp_path, [("35", 0.5, 1.0), ("35", 0.1, 3.0)]))
    value = (math.e**0.5 - 1) / (math.e - 1)  # 0.3775 > the cut-off 0.2302
    assert (math.e**0.1 - 1) / (math.e - 1) < IPM_CUTOFF
    intensity = (value - IPM_CUTOFF) / (1 - IPM_CUTOFF)
    assert rows["SP"]["ipm_nm"] == pytest.approx(100 * intensity * 1 / 4)
    assert rows["SP"]["poor_share"] == pytest.approx(0.25)
    assert rows["BR"]["ipm_nm"] == pytest.approx(rows["SP"]["ipm_nm"])


def test_a_sum_of_weights_of_zero_fails_naming_the_member_and_uf(tmp_path):
    path = _member(tmp_path, [("35", 0.5, 1.0), ("21", 0.5, 0.0)])
    with pytest.raises(DatasetError, match=r"MORADOR_QUALI_VIDA\.txt: the sum of PESO_FINAL .*MA"):
        _ipm(path)
