"""POF food spending per UF x partner category, by IBGE's method, on a hand-checked fixture."""

from __future__ import annotations

import numpy as np
import pytest

from flows.sources.public import DatasetError, load_catalog
from flows.sources.public.datasets import RawFile
from flows.sources.public.pof import monthly_value, pof_food_spending
from tests.sources.public.pof_fixture import write_pof_zip


def _spending(tmp_path, **options) -> dict[tuple[str, str], dict]:
    catalog = load_catalog()
    path = write_pof_zip(tmp_path / "Dados_20230713.zip", catalog, **options)
    table = pof_food_spending(
        catalog.datasets["pof_food_spending"], catalog, RawFile(path.name, lambda: path.open("rb"))
    )
    return {(row["uf"], row["category"]): row for row in table.to_pylist()}


def test_spending_per_family_is_worked_out_by_hand(tmp_path):
    rows = _spending(tmp_path)

    # SP families: A (PESO_FINAL 1000, 3 persons) + B (500, 2 persons) = 1500, counted once
    # each however many persons MORADOR lists. MA: C (200) + D (300) = 500.
    # monthly value = V8000_DEFLA x FATOR_ANUALIZACAO x PESO_FINAL / 12.
    sp_rice = (10.00 * 52 * 1000 + 6.00 * 52 * 500) / 12 / 1500  # 37.5556
    sp_beer = (12.00 * 52 * 1000 + 20.00 * 52 * 500) / 12 / 1500  # diary + quadro 24: 63.5556
    ma_rice = 5.00 * 52 * 200 / 12 / 500  # D's blank value is left out: 8.6667
    ma_beer = 8.00 * 52 * 300 / 12 / 500  # quadro 24 ignores V9011 = 3: 20.8
    assert set(rows) == {("SP", "Arroz"), ("SP", "Cerveja"), ("MA", "Arroz"), ("MA", "Cerveja")}
    expected = {
        ("SP", "Arroz"): (sp_rice, 1500.0, 2),
        ("SP", "Cerveja"): (sp_beer, 1500.0, 2),
        ("MA", "Arroz"): (ma_rice, 500.0, 1),
        ("MA", "Cerveja"): (ma_beer, 500.0, 1),
    }
    for key, (spending, families, records) in expected.items():
        row = rows[key]
        assert row["monthly_spending_per_family_brl"] == pytest.approx(spending, rel=1e-12), key
        assert row["families_weighted"] == families, key
        assert row["records"] == records, key
    assert rows[("SP", "Arroz")]["uf_code"] == "35" and rows[("MA", "Arroz")]["uf_code"] == "21"
    assert round(rows[("SP", "Cerveja")]["monthly_spending_per_family_brl"], 4) == 63.5556


def test_v9011_multiplies_only_quadros_other_than_24_and_41():
    value = monthly_value(
        np.array([12.0, 12.0, 12.0]),
        np.array([1.0, 1.0, 1.0]),
        np.array([100.0, 100.0, 100.0]),
        quadro=np.array([24, 41, 31]),
        months=np.array([3.0, 3.0, 3.0]),
    )
    assert value.tolist() == [100.0, 100.0, 300.0]


def test_a_sum_of_weights_of_zero_fails_naming_the_file_and_uf(tmp_path):
    with pytest.raises(DatasetError, match=r"MORADOR\.txt: the sum of PESO_FINAL .* UF 21 is zero"):
        _spending(tmp_path, weights={"C": 0.0, "D": 0.0})


def test_every_partner_category_is_mapped_or_said_to_have_no_equivalent():
    from flows.sample.vocab import CATEGORIES

    category_map = load_catalog().category_map
    assert category_map is not None
    assert {name for name, *_ in CATEGORIES} == set(category_map.categories)
    without = {n for n, c in category_map.categories.items() if c.no_pof_equivalent}
    assert without == {"Panetone", "Espumante"}
