"""``bigd analyze --category X`` delivers that run as the schedule does (unit test: the
two flows are replaced by recorders; the flows themselves are tested in
test_report_flow.py and tests/analysis)."""

from __future__ import annotations

from types import SimpleNamespace

from typer.testing import CliRunner

from flows.cli import app


def test_analyze_then_delivers_the_same_categories(monkeypatch):
    calls = []

    def run_analysis(**kwargs):
        calls.append(("run_analysis", kwargs))
        return SimpleNamespace(
            line="run r1: ok", totals={"report": "lake://r1.ipynb", "outputs": "reports/r1"}
        )

    def deliver_analysis(**kwargs):
        calls.append(("deliver_analysis", kwargs))
        return {
            "published": {"bigd.prospects": 3},
            "report": "lake://latest.html",
            "index": "lake://index.html",
        }

    monkeypatch.setattr("flows.analysis_flow.run_analysis", run_analysis)
    monkeypatch.setattr("flows.report_flow.deliver_analysis", deliver_analysis)

    result = CliRunner().invoke(app, ["analyze", "--category", "Cerveja"])

    assert result.exit_code == 0, result.output
    assert calls[0][1]["categories"] == ["Cerveja"]
    assert calls[1] == (
        "deliver_analysis",
        {"analysis_dir": "reports/r1", "categories": ["Cerveja"]},
    )
    assert "infographic lake://latest.html" in result.output

    calls.clear()
    result = CliRunner().invoke(app, ["analyze", "--no-deliver"])
    assert result.exit_code == 0 and [name for name, _ in calls] == ["run_analysis"]
