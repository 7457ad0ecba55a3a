"""The rendered reports in a real headless browser with the network disabled: each page
(analyst, marketing, index) loads with no console error and no request outside its own
file, its charts render, and it fits a phone's width."""

from __future__ import annotations

import io

import pytest

from tests.reports.browser import Browser

pytestmark = pytest.mark.integration

CHARTS = """[...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  return {x: box.x + window.scrollX, y: box.y + window.scrollY, width: box.width,
          height: box.height};
})"""


def not_blank(png: bytes) -> bool:
    """At least a few colours and 1% of pixels that are not background white."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(image.getdata())
    inked = sum(1 for pixel in pixels if sum(pixel) < 720)
    return len(set(pixels)) > 3 and inked > len(pixels) / 100


@pytest.fixture
def rendered(render_infographic):
    """The real infographic notebook rendered and archived in a folder lake."""
    lake, _, manifest = render_infographic()
    assert manifest.status == "succeeded", manifest.error
    folder = manifest.folder
    return {
        "analyst": lake.local_path(f"{folder}/analyst.html"),
        "marketing": lake.local_path(f"{folder}/marketing.html"),
        "index": lake.local_path("reports/index.html"),
        "latest": lake.local_path("reports/latest/infographic.html"),
    }


def test_reports_load_offline_without_errors_and_charts_render(chromium, rendered):
    with Browser(chromium) as browser:
        for name, path in rendered.items():
            visit = browser.visit(path)
            assert visit.console_errors == [], (name, visit.console_errors)
            outside = [
                url for url in visit.requests if url != visit.url and not url.startswith("data:")
            ]
            assert outside == [], (name, outside)
            width = browser.evaluate("document.documentElement.scrollWidth")
            assert width <= browser.width + 2, f"{name} is {width}px wide on a 390px phone"
            if name == "index":
                assert browser.evaluate("document.querySelectorAll('tbody tr').length") == 1
                continue
            charts = browser.evaluate(CHARTS)
            assert len(charts) >= 5, name
            for box in charts:
                assert box["width"] > 100 and box["height"] > 50, (name, box)
                assert not_blank(browser.screenshot(box)), (name, box)
            code_cells = browser.evaluate(
                "document.querySelectorAll('.jp-InputArea-editor, .jp-InputPrompt').length"
            )
            if name in ("marketing", "latest"):
                assert code_cells == 0, name
            else:
                assert code_cells > 0
