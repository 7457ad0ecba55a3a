"""The pages a marketing reader opens, as she sees them: the real infographic notebook
rendered from a small mart and a contract-shaped analysis run, opened in headless
Chromium at 1280 px and 390 px (screenshots kept in ``$REPORT_SCREENSHOTS`` or the test's
tmp folder), printed to A4; then a run that fails inside the notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.portuguese import JARGON, LEFTOVERS, english_words
from tests.reports.browser import Browser

pytestmark = pytest.mark.integration

FORBIDDEN = (*LEFTOVERS, *JARGON)
# At 390 px with top_n=10, two categories and the fixture's 4 UFs, the page is about
# 4,900 px: ten compact prospect cards and the charts; the per-UF lists, the other
# categories, the region table and the neighbourhoods of all but the first city folded.
PHONE_HEIGHT = 5_300
RANKED = """[...document.querySelectorAll('table.bigd-ranked')].map(t =>
  [...t.querySelectorAll('td[data-label="Nº"]')].map(td => Number(td.textContent.trim())))"""
OVERFLOW = """[...document.querySelectorAll('td, th, svg, .bigd-card')]
  .filter(e => e.offsetParent && e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + ':' + (e.getAttribute('data-label') || '') + ':'
       + Math.round(e.getBoundingClientRect().right)).slice(0, 5)"""


def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("REPORT_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def full_page(browser: Browser) -> bytes:
    size = browser.evaluate(
        "({width: document.documentElement.scrollWidth,"
        " height: document.documentElement.scrollHeight})"
    )
    return browser.screenshot({"x": 0, "y": 0, **size})


def visible_text(browser: Browser) -> str:
    return browser.evaluate("document.body.innerText")


@pytest.fixture
def pages(render_infographic):
    lake, _, manifest = render_infographic(categories=["Cerveja", "Vinho"], top_n=10)
    assert manifest.status == "succeeded", manifest.error
    return lake, {
        "marketing": lake.local_path("reports/latest/infographic.html"),
        "index": lake.local_path("reports/index.html"),
    }


def test_marketing_pages_read_cleanly_on_desktop_phone_and_print(chromium, pages, tmp_path):
    _, paths = pages
    shots = screenshot_dir(tmp_path)
    for width in (1280, 390):
        with Browser(chromium, width=width) as browser:
            for name, path in paths.items():
                visit = browser.visit(path)
                assert visit.console_errors == [], (name, visit.console_errors)
                assert browser.evaluate("document.documentElement.scrollWidth") <= width + 2
                (shots / f"{name}-{width}.png").write_bytes(full_page(browser))
                text = visible_text(browser)
                for word in FORBIDDEN:
                    assert word not in text, (name, width, word)
                english = english_words(text)
                assert english == [], (name, english[:10])
                if name != "marketing":
                    continue
                if width == 390:  # a phone reader scrolls a page, not a catalogue
                    height = browser.evaluate("document.documentElement.scrollHeight")
                    assert height <= PHONE_HEIGHT, height
                assert browser.evaluate(OVERFLOW) == [], (width, browser.evaluate(OVERFLOW))
                ranked = browser.evaluate(RANKED)
                assert len(ranked) >= 2  # the shortlist and the regions
                for numbers in ranked:
                    assert numbers == list(range(1, len(numbers) + 1)), numbers
                closed = browser.evaluate(
                    "[...document.querySelectorAll('details')].filter(d => !d.open).length"
                )
                assert closed >= 2  # per-UF lists and the other categories start folded
        if width == 390:  # print: A4 portrait, nothing wider than the paper
            with Browser(chromium, width=width) as browser:
                browser.visit(paths["marketing"])
                browser.call("Emulation.setEmulatedMedia", media="print")
                browser.call("Emulation.setDeviceMetricsOverride", width=718, height=1000,
                             deviceScaleFactor=1, mobile=False)  # fmt: skip
                assert browser.evaluate("document.documentElement.scrollWidth") <= 720
                pdf = browser.call(
                    "Page.printToPDF", paperWidth=8.27, paperHeight=11.69, preferCSSPageSize=True
                )
                assert pdf["data"]


def test_a_failed_run_keeps_latest_and_shows_marketing_one_plain_line(
    render_infographic,
    chromium,
    tmp_path,
):
    lake, store, good = render_infographic(top_n=5)
    assert good.status == "succeeded", good.error
    latest = {obj.key: lake.read_bytes(obj.key) for obj in lake.list("reports/latest")}
    assert len(latest) == 2

    from flows.reports.run import make_report

    failed = make_report(
        store, "infographic", {"analysis_dir": "analysis/missing"}, "ig-2", "analysis/missing"
    )

    assert failed.status == "failed"
    assert {obj.key: lake.read_bytes(obj.key) for obj in lake.list("reports/latest")} == latest
    folder = failed.folder
    marketing = lake.read_bytes(f"{folder}/marketing.html").decode()
    analyst = lake.read_bytes(f"{folder}/analyst.html").decode()
    assert "não pôde ser gerado" in marketing
    for leak in ("Traceback", "FileNotFoundError", "analysis/missing", "/tmp", "Quem ligar"):
        assert leak not in marketing
    assert "FileNotFoundError" in analyst  # the analyst page shows the failing cell
    assert "FileNotFoundError" in json.loads(lake.read_bytes(f"{folder}/manifest.json"))["error"]
    index = lake.read_bytes("reports/index.html").decode()
    assert "FileNotFoundError" not in index and "falhou" in index
    with Browser(chromium) as browser:
        browser.visit(lake.local_path(f"{folder}/marketing.html"))
        (screenshot_dir(tmp_path) / "failed-390.png").write_bytes(full_page(browser))
        assert browser.evaluate("document.documentElement.scrollWidth") <= 392
