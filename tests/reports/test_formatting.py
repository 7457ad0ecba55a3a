from __future__ import annotations

import math
import xml.dom.minidom

import pytest

from flows.reports.charts import UF_TILES, bar_chart, line_chart, uf_tile_grid
from flows.reports.formatting import brl, compacto, inteiro, numero, percentual


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, "R$ 1.234,56"),
        (0, "R$ 0,00"),
        (1234567.891, "R$ 1.234.567,89"),
        (-5, "-R$ 5,00"),
        (0.005, "R$ 0,01"),
        (None, "—"),
        (math.nan, "—"),
    ],
)
def test_brl(value, expected):
    assert brl(value) == expected


def test_numbers_and_shares():
    assert inteiro(12345) == "12.345"
    assert numero(1234567.891, 2) == "1.234.567,89"
    assert percentual(0.312) == "31,2%"
    assert compacto(1_234_567) == "1,2 mi"
    assert compacto(12_300, moeda=True) == "R$ 12,3 mil"
    assert compacto(950) == "950"
    assert compacto(2.5e9) == "2,5 bi"


def test_uf_tiles_cover_the_27_ufs_without_overlap():
    assert len(UF_TILES) == 27
    assert len(set(UF_TILES.values())) == 27


def test_charts_are_well_formed_svg_with_their_labels():
    charts = [
        bar_chart(["Restaurantes", "Bares"], [1200, 300], "Estabelecimentos por canal"),
        line_chart(["2026-01", "2026-02"], {"Cerveja": [10.0, 12.0], "Vinho": [5.0, None]}, "Mês"),
        uf_tile_grid({"SP": 1e6, "RJ": 5e5}, "Vendas por UF"),
    ]
    for svg in charts:
        document = xml.dom.minidom.parseString(svg)
        assert document.documentElement.tagName == "svg"
    assert "Restaurantes" in charts[0] and "1,2 mil" in charts[0]
    assert "Cerveja" in charts[1]
    assert ">SP<" in charts[2] and ">AC<" in charts[2] and "1,0 mi" in charts[2]
