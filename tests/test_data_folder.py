"""The data folder a command uses: BIGD_DATA_DIR, else the checkout's recorded default
(what `bigd demo` leaves), else ./data. Commands that find no data say what to run first
in one line and create nothing; `bigd --help` lists commands in workflow order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import data_folder
from flows.config import get_settings, load_settings
from tests.cli_helpers import ROOT, cli_env, run_cli


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout of its own (BIGD_HOME with notebooks/) whose record the test writes."""
    home = tmp_path / "checkout"
    (home / "notebooks").mkdir(parents=True)
    monkeypatch.setenv("BIGD_HOME", str(home))
    monkeypatch.delenv("BIGD_DATA_DIR")
    get_settings.cache_clear()
    return home


def test_the_recorded_folder_is_the_default_from_any_folder_even_notebooks(
    checkout, tmp_path, monkeypatch
):
    demo = tmp_path / "somewhere" / "demo"
    demo.mkdir(parents=True)
    assert load_settings().data_dir == Path("data")  # no record yet: ./data
    assert data_folder.record(Path(demo)) == checkout / ".bigd-data-dir"
    for cwd in (checkout / "notebooks", tmp_path):  # Jupyter starts kernels in notebooks/
        monkeypatch.chdir(cwd)
        assert load_settings().data_dir == demo
        assert load_settings().warehouse == f"duckdb:///{demo / 'warehouse.duckdb'}"
    assert data_folder.describe(demo).endswith("(recorded by `bigd demo` in .bigd-data-dir)")
    monkeypatch.setenv("BIGD_DATA_DIR", str(tmp_path / "mine"))
    assert load_settings().data_dir == tmp_path / "mine"  # the setting always wins
    assert data_folder.describe(tmp_path / "mine").endswith("(BIGD_DATA_DIR)")


def test_a_record_of_a_removed_folder_falls_back_to_dot_data(checkout, tmp_path):
    data_folder.record(tmp_path / "gone")
    assert load_settings().data_dir == Path("data")


def _no_bigd_settings(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path)
    del env["BIGD_DATA_DIR"]
    home = tmp_path / "checkout"
    (home / "notebooks").mkdir(parents=True)
    env["BIGD_HOME"] = str(home)  # a checkout without a record: the default is ./data
    return env


@pytest.mark.parametrize(
    "args",
    [
        ["results", "--topic", "bigd.potential", "--limit", "3"],
        ["analyze"],
        ["deliver"],
        ["load"],
        ["purge", "--dry-run"],
    ],
)
def test_a_command_without_data_says_what_to_run_first_and_creates_nothing(tmp_path, args):
    env = _no_bigd_settings(tmp_path)
    folder = tmp_path / "empty"
    folder.mkdir()
    done = run_cli(args, env, cwd=folder, timeout=120)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"Nothing to use: no lake at {folder / 'data' / 'lake'}: run `bigd demo` "
                     "(or `bigd ingest ...`) first"], lines  # fmt: skip
    assert list(folder.iterdir()) == []


def test_analyze_without_a_warehouse_creates_no_file(tmp_path):
    env = _no_bigd_settings(tmp_path)
    folder = tmp_path / "ingested"
    (folder / "data" / "lake").mkdir(parents=True)
    done = run_cli(["analyze", "--category", "Cerveja"], env, cwd=folder, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        f"Nothing to use: no warehouse at {folder / 'data' / 'warehouse.duckdb'}: "
        "run `bigd load` first"
    )
    assert [p.name for p in (folder / "data").iterdir()] == ["lake"]
    assert list((folder / "data" / "lake").iterdir()) == []


def test_help_lists_the_commands_in_the_order_a_user_meets_them(tmp_path):
    done = run_cli(["--help"], cli_env(tmp_path / "data"), cwd=tmp_path, timeout=120)
    commands = done.stdout.split("Commands", 1)[1]
    listed = re.findall(r"^│ ([a-z-]+) ", commands, re.MULTILINE)
    assert listed == ["demo", "sample", "partner-api", "ingest", "load", "analyze", "deliver",
                      "results", "server", "deploy", "purge"]  # fmt: skip


def test_the_record_is_ignored_by_git():
    assert "/.bigd-data-dir" in (ROOT / ".gitignore").read_text().splitlines()


def test_categories_are_checked_against_the_partners_with_a_hint():
    from flows.preflight import check_categories

    check_categories(["Cerveja"], ["Cerveja", "Vinho"])
    check_categories([], [])
    with pytest.raises(ValueError) as refused:
        check_categories(["Cervejaa", "Vinho", "Zzz"], ["Cerveja", "Vinho", "Água mineral"])
    assert str(refused.value) == (
        "unknown categories 'Cervejaa', 'Zzz' (did you mean Cerveja?); the partner's "
        "categories are Cerveja, Vinho, Água mineral"
    )


def test_an_unloaded_warehouse_says_to_run_load_and_stays_as_it_was(tmp_path):
    import duckdb

    from flows.preflight import NothingToUse, warehouse_categories

    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(NothingToUse, match=r"no warehouse at .*: run `bigd load` first"):
        warehouse_categories(settings)
    assert list(tmp_path.iterdir()) == []
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # a file without the tables
    with pytest.raises(NothingToUse, match=r"is not loaded \(.*\): run `bigd load` first"):
        warehouse_categories(settings)
