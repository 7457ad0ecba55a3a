"""The demo, as a newcomer meets it: it runs every stage end to end on embedded defaults,
reads like a progress report (at most 80 lines), prints the warehouse's own answers,
leaks nothing (no file outside its work folder but the checkout's data-folder record,
never its partner API key, no partner API left serving), and the next commands it
prints work copy-pasted, from the folder it was started in and from the repository root,
without any setting: they find the demo's data through the recorded default. The
README's papermill recipe runs as written from the repository root on the same data.

The tests read the session's one run of the pipeline (``tests/pipeline_run.py``: ``bigd
demo``'s code on a 12,000-establishment release), shared with the analysis's tests."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest

from flows import demo, demo_tables
from flows.demo import DEMO_RELEASE, PREVIEW_QUERIES
from tests.cli_helpers import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def _printed_in_order(printed: str, cells: list[str]) -> bool:
    """Some printed line holds every cell, left to right (a row of a rich table)."""
    pattern = re.compile(".*".join(re.escape(cell) for cell in cells))
    return any(pattern.search(line) for line in printed.splitlines())


@pytest.fixture
def demo_run(pipeline_run):
    """The session's one run of ``bigd demo`` (``tests/pipeline_run.py``): recording its
    folder as the default data folder of a checkout whose record lives in a temporary
    BIGD_HOME, started in a folder of its own, with every partner key it generated."""
    return {"base": pipeline_run.root, "home": pipeline_run.home, "started_in": pipeline_run.cwd,
            "workdir": pipeline_run.workdir, "printed": pipeline_run.printed,
            "result": pipeline_run.demo, "keys": pipeline_run.partner_keys,
            "env": pipeline_run.env, "other_output": pipeline_run.other_output}  # fmt: skip


def test_demo_runs_every_stage_prints_the_views_answers_and_leaks_nothing(demo_run):
    workdir, printed = demo_run["workdir"], demo_run["printed"]
    lines = printed.splitlines()
    assert len(lines) <= 80, printed

    # Every stage wrote its zone of the lake and reported one line, with its seconds.
    lake = workdir / "lake"
    for table in ("empresas", "estabelecimentos", "socios", "simples", "cnaes", "municipios"):
        assert list((lake / "trusted" / "cnpj" / DEMO_RELEASE / table).glob("*.parquet")), table
    assert list((lake / "trusted" / "partner" / "sales").glob("sale_date=*/*.parquet"))
    assert list((lake / "trusted" / "public").glob("*/data.parquet"))
    assert list((lake / "quarantine" / "cnpj" / DEMO_RELEASE).iterdir())
    stages = ["sample", "cnpj", "public", "partner", "warehouse", "analysis", "delivery", "purge"]
    for stage in stages:
        assert re.search(rf"^✓ {stage}\s+\d+\.\d s  \S", printed, re.MULTILINE), stage
    assert [line.name for line in demo_run["result"].stages] == stages
    assert "public: ok " in printed and "failed" not in printed
    assert f"release {DEMO_RELEASE}, tables " in printed
    # The notebook's output and the kernel's warnings stay in the run's log.
    assert "without encryption" not in printed and "Alternative text" not in printed
    assert "CNPJ release" not in printed  # a line the notebook prints

    # What it printed under each question is what the warehouse answers to it.
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as warehouse:
        for view, column in (
            ("establishments_by_channel", "establishments"),
            ("customers_vs_prospects", "customers"),
            ("sales_by_category_month_uf", "sales"),
        ):
            total = warehouse.execute(f"SELECT SUM({column}) FROM mart.{view}").fetchone()[0]
            assert total > 0, f"mart.{view}.{column} sums to {total}"
        for title in demo.BRIEF_PREVIEW:
            assert title in printed
            rows = warehouse.execute(PREVIEW_QUERIES[title]).fetchall()
            assert rows, f"the view behind {title!r} is empty"
            for row in rows:
                cells = [demo._cell(value) for value in row]
                assert _printed_in_order(printed, cells), (title, cells)
        # The best prospects it printed are the analysis run's first ranks in mart.prospects.
        run_id = demo_run["result"].results["analysis"].totals["run_id"]
        best = warehouse.execute(
            f"SELECT {', '.join(demo_tables.PROSPECT_COLUMNS.values())} "
            "FROM mart.prospects WHERE run_id = ? ORDER BY rank LIMIT 5",
            [run_id],
        ).fetchall()
        assert [row[0] for row in best] == [1, 2, 3, 4, 5]
        for row in best:
            cells = ["" if value is None else demo._cell(value) for value in row]
            assert _printed_in_order(printed, cells), cells
    assert str(workdir / "warehouse.duckdb") in printed

    # The closing summary names the marketing page and the analyst page, which exist.
    result = demo_run["result"]
    for label, page in (("Marketing page (the infographic)", result.marketing_html),
                        ("Analyst page", result.analyst_html)):  # fmt: skip
        assert re.search(rf"^{re.escape(label)}\s*: {re.escape(page)}$", printed, re.MULTILINE)
        assert Path(page.removeprefix("file://")).is_file(), page
    assert page.startswith((lake / "reports").as_uri())
    assert (lake / "reports" / "index.html").exists()
    assert (lake / "reports" / "latest" / "infographic.html").exists()
    assert "reports/index.html" in printed

    # Nothing outside the work folder but the checkout's record of it.
    assert sorted(p.name for p in demo_run["started_in"].iterdir()) == ["demo"]
    assert sorted(p.name for p in demo_run["base"].iterdir()) == ["checkout", "cwd"]
    record = demo_run["home"] / ".bigd-data-dir"
    assert record.read_text().strip() == str(workdir)
    assert sorted(p.name for p in demo_run["home"].iterdir()) == [".bigd-data-dir", "notebooks"]
    # The throw-away partner key is in no output and no file (raw zone, state, warehouse).
    assert demo_run["keys"], "the demo made no partner key"
    for key in demo_run["keys"]:
        assert key not in printed and key not in demo_run["other_output"]
        for path in workdir.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path
    # The partner API stopped with the demo.
    url = re.search(r"partner API serving the sample at (http://127\.0\.0\.1:\d+)", printed)
    assert url, "the demo did not say where the partner API was"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.group(1), timeout=5)


def _printed_commands(printed: str) -> list[str]:
    after = printed.split("Next, from this folder:\n", 1)[1]
    return [line.strip() for line in after.splitlines()
            if line.startswith("  ") and not line.strip().startswith("#")]  # fmt: skip


def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


def test_the_printed_next_commands_work_from_the_demo_folder_and_the_repo_root(demo_run):
    commands = _printed_commands(demo_run["printed"])
    assert len(commands) == 4, commands
    assert [c.split()[1:2] for c in commands[:3]] == [["results"], ["analyze"], ["deliver"]]
    workdir, env = demo_run["workdir"], demo_run["env"]
    root_before = sorted(p.name for p in ROOT.iterdir())
    # The slow two once each (analyze from the demo's folder, deliver from the root), the
    # quick ones from both folders.
    for folder, wanted in ((demo_run["started_in"], [commands[i] for i in (0, 1, 3)]),
                           (ROOT, [commands[i] for i in (0, 2, 3)])):  # fmt: skip
        for command in wanted:
            done = _shell(command, folder, env)
            assert done.returncode == 0, (folder, command, done.stderr[-2000:])
            if " -c " not in command:  # a bigd command names the demo's folder first
                first = done.stderr.splitlines()[0]
                assert first.startswith(f"Data folder {workdir} (recorded by `bigd demo`"), first
    potential = _shell(commands[0], ROOT, env)
    assert len(potential.stdout.splitlines()) == 3
    query = _shell(commands[3], ROOT, env)
    assert "top_prospects" not in query.stderr
    assert sorted(p.name for p in ROOT.iterdir()) == root_before  # no ./data made here

    # The query shows the newest run's best five, not a mix of every run's ranks: by now
    # the mart holds the demo's run and the one `analyze` just made (and perhaps others).
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as warehouse:
        runs = warehouse.execute(
            "SELECT run_id FROM mart.prospects GROUP BY run_id ORDER BY max(scored_at) DESC"
        ).fetchall()
        newest = warehouse.execute(
            "SELECT rank, uf, channel FROM mart.prospects WHERE run_id = ? ORDER BY rank LIMIT 5",
            [runs[0][0]],
        ).fetchall()
    assert len(runs) >= 2, runs
    printed_rows = [
        cells
        for line in query.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")]) and cells[0].isdigit()
    ]
    assert [(int(c[0]), c[1], c[3]) for c in printed_rows] == newest, query.stdout


def test_the_readme_papermill_recipe_runs_from_the_repository_root(demo_run, tmp_path):
    """The README's block, as written, but writing into the test's folder instead of /tmp
    and with this interpreter's bin/ for .venv/bin/: the data folder is the recorded one."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(\.venv/bin/papermill notebooks/.*?)```", readme, re.DOTALL)
    assert block, "the README has no papermill recipe"
    command = block.group(1).replace("/tmp/", f"{tmp_path}/")
    command = command.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    done = _shell(command, ROOT, demo_run["env"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run.ipynb").is_file()
    assert (tmp_path / "run-outputs" / "metrics.json").is_file()


FIRST_CELLS = """
import nbformat, nbclient
notebook = nbformat.read("notebooks/demand_ensemble.ipynb", as_version=4)
code = [cell for cell in notebook.cells if cell.cell_type == "code"]
probe = "import os; print(os.getcwd(), data.release, len(data.establishments))"
notebook.cells = code[:3] + [nbformat.v4.new_code_cell(probe)]
client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                                 resources={"metadata": {"path": "notebooks"}})
client.execute()
print(notebook.cells[-1].outputs[0]["text"])
"""


def test_the_readme_jupyter_recipe_reads_the_demos_data_with_the_kernel_in_notebooks(
    demo_run, tmp_path
):
    """``jupyter lab notebooks/demand_ensemble.ipynb`` from the repository root starts the
    kernel in ``notebooks/`` (where a relative data folder once resolved wrongly): the
    notebook's parameters, imports and data cell, run as Jupyter runs them there, read the
    demo's warehouse through the recorded default, with no BIGD_DATA_DIR."""
    readme = (ROOT / "README.md").read_text()
    assert "\n.venv/bin/jupyter lab notebooks/demand_ensemble.ipynb\n" in readme
    script = tmp_path / "first_cells.py"
    script.write_text(FIRST_CELLS)
    env = {k: v for k, v in demo_run["env"].items() if k != "BIGD_DATA_DIR"}
    done = _shell(f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", ROOT, env)
    assert done.returncode == 0, done.stderr[-3000:]
    cwd, release, establishments = done.stdout.split()
    assert Path(cwd).resolve() == (ROOT / "notebooks").resolve() and release == DEMO_RELEASE
    assert int(establishments) > 1000


def test_a_misspelt_category_or_run_id_is_refused_naming_the_valid_ones(demo_run):
    workdir, env = demo_run["workdir"], demo_run["env"]
    reports = sorted(p.name for p in (workdir / "lake" / "reports" / "analysis").rglob("*"))
    bigd = [sys.executable, "-m", "flows"]
    done = subprocess.run([*bigd, "analyze", "--category", "Cervejaa"], cwd=demo_run["base"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert "unknown category 'Cervejaa'" in message
    for valid in ("Cerveja", "Vinho", "Feijão"):
        assert valid in message
    assert "Prefect API" not in done.stderr  # refused before Prefect (and any kernel) started
    assert sorted(p.name for p in (workdir / "lake" / "reports" / "analysis").rglob("*")) == (
        reports
    )
    done = subprocess.run([*bigd, "deliver", "--run-id", "nope"], cwd=demo_run["base"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no analysis run 'nope'" in " ".join(done.stderr.split())
