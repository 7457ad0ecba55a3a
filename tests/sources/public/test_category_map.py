"""The catalog's category map against IBGE's real tradutores."""

from __future__ import annotations

from flows.sources.public import load_catalog
from flows.sources.public.tradutores import derive_codes, read_tradutor
from tests.sources.public.ibge_files import real_ibge_file


def test_every_mapped_code_exists_in_the_real_tradutor_and_matches_its_groups():
    path = real_ibge_file("Tradutores_20230713.zip")
    category_map = load_catalog().category_map
    assert category_map is not None

    tradutores = {
        name: read_tradutor(path, name) for name in ("alimentacao", "aquisicao_alimentar")
    }
    for category, entry in category_map.categories.items():
        if entry.no_pof_equivalent:
            assert not entry.codes and not entry.groups, category
            continue
        tradutor = tradutores[entry.tradutor]
        missing = sorted((set(entry.codes) | set(entry.exclude)) - set(tradutor))
        assert not missing, f"{category}: codes not in the tradutor: {missing}"
        groups = {group for levels in tradutor.values() for group in levels.values()}
        assert set(entry.groups) <= groups, category
    # The codes are exactly those of the declared groups (the map is derived, not typed in).
    derived = derive_codes(category_map, path)
    assert derived == {
        name: entry.codes for name, entry in category_map.categories.items() if entry.codes
    }


def test_examples_from_the_issue():
    path = real_ibge_file("Tradutores_20230713.zip")
    categories = load_catalog().category_map.categories
    assert categories["Vinho"].codes == [83024, 83036]
    food = read_tradutor(path, "alimentacao")
    beer_1124 = {code for code, levels in food.items() if levels.get(3) == 1124}
    soft_1122 = {code for code, levels in food.items() if levels.get(3) == 1122}
    assert beer_1124 and beer_1124 <= set(categories["Cerveja"].codes)
    assert soft_1122 - {82010} <= set(categories["Refrigerante"].codes)
