"""F0: a partner API answering a full table with nothing (or only invalid records, or far
fewer rows) must fail the run and keep the trusted table, unless explicitly overridden;
the public datasets (full tables too) are held to the same guard."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from flows.guards import TableGuard, TableGuardError
from flows.lake import Lake
from flows.sources.partner.ingest import IngestContext, ingest_full_table
from tests.partner_data import ESTABLISHMENTS
from tests.sources.partner.conftest import PSEUDONYM_KEY, StubClient

TRUSTED = "trusted/partner/establishments"


def trusted_ids(lake: Lake) -> list[int]:
    [part] = [obj.key for obj in lake.list(TRUSTED)]
    return sorted(pq.read_table(lake.path(part), filesystem=lake.filesystem)["id"].to_pylist())


@pytest.fixture
def lake(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    ingest_full_table(IngestContext(lake, StubClient(), PSEUDONYM_KEY), "Establishment")
    assert trusted_ids(lake) == [1, 2, 3, 4]
    return lake


INVALID = [{"id": 10 + n, "cnpj": "not a cnpj"} for n in range(4)]
BAD_ANSWERS = {
    "empty": ([], "no records"),
    "all invalid": (INVALID, "all 4 records were invalid"),
    "some invalid": ([*ESTABLISHMENTS[:3], INVALID[0]], "1 of 4 records invalid"),
    "shrunk": (ESTABLISHMENTS[:1], "1 rows would replace 4"),
}


@pytest.mark.parametrize("answer", BAD_ANSWERS, ids=list(BAD_ANSWERS))
def test_a_bad_full_table_fails_and_keeps_the_trusted_one(lake, answer):
    records, reason = BAD_ANSWERS[answer]
    ctx = IngestContext(lake, StubClient(Establishment=records), PSEUDONYM_KEY)
    with pytest.raises(TableGuardError, match=reason) as refused:
        ingest_full_table(ctx, "Establishment")
    assert "previous 4 rows are kept" in str(refused.value)
    assert trusted_ids(lake) == [1, 2, 3, 4]


def test_the_override_replaces_and_is_recorded(lake):
    guard = TableGuard(allow_shrink=True)
    ctx = IngestContext(lake, StubClient(Establishment=[]), PSEUDONYM_KEY, guard=guard)
    result = ingest_full_table(ctx, "Establishment")
    assert result.rows == 0 and "--allow-shrink" in result.override
    assert lake.list(TRUSTED) and trusted_ids(lake) == []


def test_a_first_run_and_a_modest_change_pass(tmp_path):
    lake = Lake.from_url(str(tmp_path / "fresh"))
    ctx = IngestContext(lake, StubClient(Establishment=ESTABLISHMENTS[:3]), PSEUDONYM_KEY)
    assert ingest_full_table(ctx, "Establishment").override is None  # nothing to shrink from
    ctx = IngestContext(lake, StubClient(), PSEUDONYM_KEY)
    assert ingest_full_table(ctx, "Establishment").rows == 4
    ctx = IngestContext(lake, StubClient(Establishment=ESTABLISHMENTS[:2]), PSEUDONYM_KEY)
    assert ingest_full_table(ctx, "Establishment").rows == 2  # halved: at the limit, allowed


def test_the_guard_rules_directly():
    guard = TableGuard(max_bad_row_rate=0.01, max_shrink=0.5)
    assert guard.problem(1000, 10, 990, 1000) is None
    assert "invalid" in guard.problem(1000, 11, 989, 1000)
    assert "shrinks by 51%" in guard.problem(490, 0, 490, 1000)
    assert guard.problem(490, 0, 490, None) is None


@pytest.mark.integration
def test_ingest_partner_with_an_empty_answer_exits_1_and_keeps_the_table(
    prefect_harness, tmp_path, monkeypatch
):
    import json

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import get_settings
    from flows.sample.partner_api import PartnerApiServer
    from tests.partner_data import DAYS, write_partner_release
    from tests.sources.partner.conftest import KEY

    good = write_partner_release(tmp_path / "good")
    empty = write_partner_release(tmp_path / "empty")
    (empty / "partner" / "establishments.json").write_text(json.dumps([]))
    monkeypatch.setenv("BIGD_PARTNER_API_KEY", KEY)
    arguments = ["ingest", "partner", "--since", DAYS[0], "--until", DAYS[0]]
    for folder, code in ((good, 0), (empty, 1)):
        with PartnerApiServer(folder, key=KEY) as api:
            monkeypatch.setenv("BIGD_PARTNER_API_URL", api.url)
            get_settings.cache_clear()
            result = CliRunner().invoke(app, arguments)
        assert result.exit_code == code, result.output
    text = " ".join(result.output.split())
    assert "no records" in text and "previous 4 rows are kept" in text
    lake = Lake.from_url(get_settings().lake_root)
    assert trusted_ids(lake) == [1, 2, 3, 4]
    with PartnerApiServer(empty, key=KEY) as api:
        monkeypatch.setenv("BIGD_PARTNER_API_URL", api.url)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, [*arguments, "--allow-shrink"])
    assert result.exit_code == 0, result.output
    assert "GUARD OVERRIDDEN: partner.establishments" in " ".join(result.output.split())
    assert trusted_ids(lake) == []


@pytest.mark.integration
def test_a_public_dataset_that_shrank_fails_and_keeps_the_trusted_one(prefect_harness, tmp_path):
    """The same guard on the public full tables."""
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import get_settings
    from flows.sources.public import trusted_key
    from tests import public_samples as samples

    release = samples.write_public_release(tmp_path / "release")
    arguments = [
        "ingest",
        "public",
        "--source",
        str(release),
        "--catalog",
        str(samples.CSV_CATALOG),
    ]
    assert CliRunner().invoke(app, arguments).exit_code == 0
    population = samples.FILES["population_municipalities"][2]
    samples.rewrite(release, "population_municipalities", rows=population[:1])
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "public.population_municipalities: 1 rows would replace 5" in text
    lake = Lake.from_url(get_settings().lake_root)
    key = trusted_key("population_municipalities")
    assert pq.read_table(lake.path(key), filesystem=lake.filesystem).num_rows == 5
    assert CliRunner().invoke(app, [*arguments, "--allow-shrink"]).exit_code == 0
    assert pq.read_table(lake.path(key), filesystem=lake.filesystem).num_rows == 1
