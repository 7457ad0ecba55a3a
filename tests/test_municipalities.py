"""The IBGE <-> Receita TOM crosswalk built from the cidade-ibge-tom package."""

from flows.municipalities import TOM_EXTERIOR, UFS, ibge_by_tom, municipalities


def test_every_state_and_nearly_every_city():
    cities = municipalities()
    assert len(UFS) == 27
    assert {m.uf for m in cities} == set(UFS)
    assert len(cities) == 5570
    assert all(len(m.ibge) == 7 and len(m.tom) == 4 for m in cities)


def test_known_pairs():
    crosswalk = ibge_by_tom()
    assert crosswalk["7107"] == "3550308"  # São Paulo
    assert crosswalk["6001"] == "3304557"  # Rio de Janeiro
    assert crosswalk["9701"] == "5300108"  # Brasília


def test_ambiguous_and_foreign_codes_are_not_mapped():
    crosswalk = ibge_by_tom()
    assert "9557" not in crosswalk
    assert TOM_EXTERIOR not in crosswalk
