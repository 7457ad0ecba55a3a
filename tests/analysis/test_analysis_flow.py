"""The analysis end to end: a generated release (a seed and size not used in development)
with planted personal data is ingested, loaded and analysed by the real flows.

Checks: the notebook runs through the flow, its outputs have the documented schemas and
land in the mart (a re-run replaces them), the quality bar holds, an unknown parameter and
a failing cell fail the flow clearly with the failed notebook kept, and none of the raw
personal data reaches the executed notebook or the outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import sqlalchemy as sa

from flows.analysis import outputs
from flows.notebooks import REPORT_PREFIX, NotebookFailed, NotebookParameterError
from tests.analysis import canary
from tests.portuguese import english_words, leftovers, page_text

RELEASE = "2026-11"
# The module's first test may also wait for the session's pipeline run (tests/pipeline_run.py).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def loaded(pipeline_run):
    """The session's one run of the whole pipeline (``tests/pipeline_run.py``): a release
    generated with the canary planted, served, ingested, loaded and analysed."""
    return {
        "workdir": pipeline_run.workdir,
        "sample": pipeline_run.sample,
        "analysis": pipeline_run.results["analysis"],
        "planted": pipeline_run.planted_cnpj,
    }


@pytest.fixture
def settings(loaded, monkeypatch):
    from flows.config import get_settings

    monkeypatch.setenv("BIGD_DATA_DIR", str(loaded["workdir"]))
    get_settings.cache_clear()
    return get_settings()


def _run_folder(workdir: Path, run_id: str) -> Path:
    found = list((workdir / "lake" / REPORT_PREFIX).glob(f"*/{run_id}"))
    assert len(found) == 1, found
    return found[0]


def _mart_counts(settings, run_id: str) -> dict[str, int]:
    engine = sa.create_engine(settings.warehouse)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(
                    sa.text(f"SELECT COUNT(*) FROM mart.{table} WHERE run_id = :r"), {"r": run_id}
                ).scalar()
                for table in ("potential_by_region", "prospects", "top_prospects")
            }
    finally:
        engine.dispose()


def test_the_pipeline_runs_the_notebook_and_loads_the_documented_outputs(loaded, settings):
    summary = loaded["analysis"].totals
    folder = _run_folder(loaded["workdir"], summary["run_id"])
    notebook = nbformat.read(folder / "demand_ensemble.ipynb", as_version=4)
    assert notebook.metadata["papermill"]["parameters"]["run_id"] == summary["run_id"]
    assert any(o.get("output_type") == "display_data" for c in notebook.cells
               for o in c.get("outputs", []))  # fmt: skip
    read = outputs.read_outputs(folder / "outputs")  # raises unless every schema is documented
    assert read["metrics"]["run_id"] == summary["run_id"]
    assert read["metrics"]["release"] == RELEASE
    counts = _mart_counts(settings, summary["run_id"])
    assert counts == {
        "potential_by_region": read["potential_by_region"].num_rows,
        "prospects": read["prospects"].num_rows,
        "top_prospects": read["top_prospects"].num_rows,
    }
    assert summary["mart_rows"] == counts


def test_quality_bar_on_an_unseen_seed_and_size(loaded):
    folder = _run_folder(loaded["workdir"], loaded["analysis"].totals["run_id"])
    metrics = json.loads((folder / "outputs" / outputs.METRICS_FILE).read_text())
    rmse = {name: scores["rmse"]["mean"] for name, scores in metrics["models"].items()}
    print("grouped-CV RMSE", {name: round(value) for name, value in rmse.items()})
    for single in ("lightgbm", "random_forest", "linear"):
        assert rmse["ensemble"] < rmse[single], rmse
    assert rmse["ensemble"] <= 0.75 * rmse["baseline"], rmse
    assert metrics["headline"]["improvement_vs_baseline"] >= 0.25
    # The hidden-customer check: at this size about 250 customers to learn from and 50 hidden
    # (AUC's standard error ~0.04), so the bar is below the targets, which bench_prospects
    # measures at 200,000 establishments (lift >= 3, AUC >= 0.75, >= 80 % of the oracle).
    conversion = metrics["conversion"]
    print("hidden customers:", {k: v for k, v in conversion.items() if k != "gains"})
    assert conversion["top_decile_lift"] >= 2.5 and conversion["auc"] >= 0.65, conversion
    # The interval's coverage: its factors come from one half of the ~50 hidden customers and
    # it is measured on the other half, so at this size both halves are small: the sampling
    # error of an 80 % interval's coverage is sqrt(p(1-p)(1/n_factors + 1/n_checked)), ~0.11
    # here (CI once measured 0.50). The bar is three of those; the ±5 points of the target
    # are measured at 200,000 establishments (bench_prospects), where each half holds ~2,000.
    interval = metrics["interval"]
    counts = re.search(r"factors from (\d+), coverage measured on the other (\d+)",
                       interval["basis"])  # fmt: skip
    assert counts, interval["basis"]
    n_factors, n_checked = int(counts[1]), int(counts[2])
    nominal = interval["nominal"]
    error = (nominal * (1 - nominal) * (1 / n_factors + 1 / n_checked)) ** 0.5
    print("interval:", interval, f"sampling error {error:.3f}")
    assert abs(interval["coverage"] - nominal) <= 3 * error, (interval, error)


def test_a_rerun_replaces_the_runs_rows(loaded, settings):
    from flows.analysis_flow import run_analysis

    first = run_analysis(run_id="rerun", categories=["Cerveja", "Refrigerante"], cv_folds=3)
    again = run_analysis(run_id="rerun", categories=["Cerveja", "Refrigerante"], cv_folds=3)
    assert first.totals["mart_rows"] == again.totals["mart_rows"]
    assert _mart_counts(settings, "rerun") == again.totals["mart_rows"]
    assert _mart_counts(settings, loaded["analysis"].totals["run_id"])["top_prospects"] > 0


def test_an_unknown_parameter_fails_before_running(loaded, settings):
    from flows.analysis_flow import run_analysis

    with pytest.raises(NotebookParameterError, match=r"unknown parameter\(s\) colour"):
        run_analysis(run_id="unknown-param", extra_parameters={"colour": "red"})
    assert not list((loaded["workdir"] / "lake" / REPORT_PREFIX).glob("*/unknown-param"))


def test_a_failing_cell_fails_the_flow_and_the_notebook_is_kept(
    loaded, settings, tmp_path, monkeypatch
):
    import tempfile

    from flows.analysis_flow import run_analysis
    from flows.notebooks import demand_notebook

    system_temp = tmp_path / "system-temp"  # where the run's work folder goes
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))

    notebook = nbformat.read(demand_notebook(), as_version=4)
    notebook.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("planted failure 42")'))
    broken = tmp_path / "demand_ensemble.ipynb"
    nbformat.write(notebook, broken)
    with pytest.raises(NotebookFailed, match="RuntimeError: planted failure 42"):
        run_analysis(run_id="failing", notebook=str(broken))
    kept = _run_folder(loaded["workdir"], "failing") / "demand_ensemble.ipynb"
    errors = [o for c in nbformat.read(kept, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert errors and errors[0]["evalue"] == "planted failure 42"
    assert list(system_temp.iterdir()) == []  # F4: the failed run's work folder is gone


def _record_text(folder: Path) -> tuple[str, set[str]]:
    """The executed notebook without its images, and every string value of the outputs."""
    notebook = nbformat.read(folder / "demand_ensemble.ipynb", as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("image/png", None)
    text = nbformat.writes(notebook)
    text += (folder / "outputs" / outputs.METRICS_FILE).read_text()
    text += (folder / "outputs" / outputs.MODEL_CARD_FILE).read_text()
    read = outputs.read_outputs(folder / "outputs")
    strings: set[str] = set()
    for table in (read["potential_by_region"], read["prospects"], read["top_prospects"]):
        for field in table.schema:
            if str(field.type) == "string":
                strings.update(v for v in table.column(field.name).to_pylist() if v)
    return text, strings


def test_no_personal_data_reaches_the_notebook_or_the_outputs(loaded, settings):
    folder = _run_folder(loaded["workdir"], loaded["analysis"].totals["run_id"])
    text, strings = _record_text(folder)
    engine = sa.create_engine(settings.warehouse)
    try:
        with engine.connect() as connection:
            planted = connection.execute(
                sa.text("SELECT cnpj_hash FROM core.establishments WHERE cnpj = :c"),
                {"c": loaded["planted"]},
            ).scalar_one()
    finally:
        engine.dispose()
    prospects = outputs.read_outputs(folder / "outputs")["prospects"].to_pandas()
    canary_rows = prospects[prospects["cnpj_hash"] == planted]
    assert len(canary_rows), "the canary establishment was not among the prospects"
    assert canary_rows[["cnpj", "trade_name", "legal_name"]].isna().all().all()
    assert canary_rows["person_owned"].all()
    corpus = (text + "\n" + "\n".join(strings)).upper()
    digit_runs = set(re.findall(r"\d+", corpus))
    leaked = []
    for value in canary.personal_values(loaded["sample"]):
        if value.isdigit():
            if value in digit_runs:
                leaked.append(value)
        elif value.upper() in corpus:
            leaked.append(value)
    assert not leaked, leaked[:10]


def test_legal_entities_show_their_registered_name_and_one_persons_business_nothing(
    loaded, settings
):
    """``core.companies.razao_social`` reaches the warehouse scrubbed (every person-owned
    form's name is its pseudonym, no owner's name or CPF), and the prospects show it for
    legal entities only: in the output file, ``mart.prospects`` and the delivered
    ``bigd.prospects`` messages alike."""
    from flows.analysis.data import person_owned_forms

    run_id = loaded["analysis"].totals["run_id"]
    engine = sa.create_engine(settings.warehouse)
    try:
        with engine.connect() as connection:
            companies = connection.execute(sa.text(
                "SELECT natureza_juridica, razao_social FROM core.companies WHERE release = :r"
            ), {"r": RELEASE}).all()  # fmt: skip
            registered = dict(connection.execute(sa.text(
                "SELECT e.cnpj_hash, c.razao_social FROM core.establishments AS e JOIN "
                "core.companies AS c ON c.release = e.release AND c.cnpj_basico = e.cnpj_basico "
                "WHERE e.release = :r"
            ), {"r": RELEASE}).all())  # fmt: skip
            mart = connection.execute(sa.text(
                "SELECT cnpj_hash, legal_name, person_owned FROM mart.prospects "
                "WHERE run_id = :r"
            ), {"r": run_id}).all()  # fmt: skip
    finally:
        engine.dispose()

    # The scrub guarantee, in the warehouse: no individual's name is loaded.
    forms = person_owned_forms()
    individual = [name for nature, name in companies if nature in forms]
    assert len(individual) > 100 and len(companies) > len(individual)
    assert all(re.fullmatch(r"EMPRESARIO INDIVIDUAL [0-9a-f]{8}", name) for name in individual)
    names = " | ".join(name for _, name in companies if name).upper()
    personal = [value for value in canary.personal_values(loaded["sample"])
                if not value.isdigit() and value.upper() in names]  # fmt: skip
    digits = set(re.findall(r"\d+", names))
    personal += [value for value in canary.personal_values(loaded["sample"])
                 if value.isdigit() and value in digits]  # fmt: skip
    assert not personal, personal[:10]

    # The outputs: legal entities named as registered, also without a trade name.
    folder = _run_folder(loaded["workdir"], run_id)
    prospects = outputs.read_outputs(folder / "outputs")["prospects"].to_pandas()
    legal = prospects[~prospects["person_owned"]]
    registered_names = legal["cnpj_hash"].map(registered).fillna("")
    registered_names = registered_names.where(registered_names.str.strip() != "", "")
    assert legal["legal_name"].fillna("").tolist() == registered_names.tolist()
    assert (legal["trade_name"].isna() & legal["legal_name"].notna()).sum() > 10
    owned = prospects[prospects["person_owned"]]
    assert len(owned) > 100
    assert owned[["cnpj", "trade_name", "legal_name"]].isna().all().all()
    pairs = zip(prospects["cnpj_hash"], prospects["legal_name"], strict=True)
    expected = {key: None if pd.isna(name) else name for key, name in pairs}
    assert {row.cnpj_hash: row.legal_name for row in mart} == expected
    assert {row.cnpj_hash for row in mart if row.person_owned} == set(owned["cnpj_hash"])

    # What the systems get: the run's bigd.prospects messages.
    topic = settings.topic_prospects
    outbox = loaded["workdir"] / "lake" / "outbox" / topic / f"{run_id}.jsonl"
    payloads = [json.loads(line)["payload"] for line in outbox.read_text().splitlines() if line]
    assert {p["cnpj_hash"]: p["legal_name"] for p in payloads} == expected
    for payload in payloads:
        if payload["person_owned"]:
            assert payload["cnpj"] is payload["trade_name"] is payload["legal_name"] is None


def test_the_analysis_report_reads_cleanly_for_a_reviewer(loaded):
    """The no-code analysis page (the analysts' front door): Portuguese narrative, figures as
    inline SVG with a text alternative, the model card, no temp path, no NaN, no traceback;
    the run's notebook archived once (it was twice: demand_ensemble.ipynb + analysis.ipynb)."""
    folder = _run_folder(loaded["workdir"], loaded["analysis"].totals["run_id"])
    assert [p.name for p in folder.glob("*.ipynb")] == ["demand_ensemble.ipynb"]
    page = (folder / "marketing.html").read_text()
    body = page.split("<body", 1)[1]
    text = page_text(page)
    assert leftovers(text) == [], leftovers(text)
    assert english_words(text) == [], english_words(text)[:10]  # no sentence left in English
    assert "Validação honesta" in text and "Ficha do modelo" in text
    assert 'id="Ficha-do-modelo"' in body  # where the index's "ficha do modelo" link lands
    assert "A lista encontra clientes de verdade?" in text and "Resumo da execução" in text
    for code in ("bar_with_entertainment", "random_forest", "mean_p_convert", "trade_name"):
        assert code not in text, code  # business labels, not column names or codes
    for table in re.findall(r"<table\b.*?</table>", body, flags=re.S):
        assert 'class="dataframe' not in table  # reviewer tables, never a raw DataFrame
        numbers = re.findall(r'<td data-label="Nº">(\d+)</td>', table)
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    # The analyst version shows the same outputs plus the code and the logs (stderr); the
    # narrative itself never goes through print (stdout), where logs and paths used to land.
    executed = nbformat.read(folder / "demand_ensemble.ipynb", as_version=4)
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            assert output.get("name") != "stdout", output.get("text", "")[:200]
            data = output.get("data", {})
            shown = " ".join(str(data.get(m, "")) for m in ("text/html", "text/markdown"))
            assert "NaN" not in shown and "/tmp/" not in shown, shown[:200]
    figures = re.findall(r"<svg\b[^>]*>", body)
    labelled = [tag for tag in figures if 'role="img"' in tag and "aria-label=" in tag]
    assert len(labelled) >= 5 and "<img" not in body.replace("<image", "")
