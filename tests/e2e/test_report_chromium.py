"""The brand manager's HTML report in real headless Chromium (Debian's ``chromium``, driven by Playwright),
served with the API's Content-Security-Policy: the page makes no request besides itself, logs no error (a
blocked style or script would), lays out the four charts with their bars (or says there are no reviews),
and a screenshot is kept in tests/artifacts/report.png."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.reporting.html import report_html
from api.service.routes.reports import REPORT_CSP
from tests.chromium import ARTIFACTS, CHROMIUM, MISSING
from tests.unit.test_report_html import CHARTS, empty_report, realistic_report

if not CHROMIUM.exists():
    pytest.skip(MISSING, allow_module_level=True)

ORIGIN = "http://report.invalid"  # answered by the test's route handler, never by the network


@pytest.mark.parametrize(("name", "make"), [("report", realistic_report), ("report-empty", empty_report)])
def test_report_renders_in_headless_chromium(browser, name: str, make, tmp_path: Path) -> None:
    page_html = report_html(make())
    requests: list[str] = []
    errors: list[str] = []

    def serve(route) -> None:
        requests.append(route.request.url)
        if route.request.url == f"{ORIGIN}/report.html":
            headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": REPORT_CSP}
            route.fulfill(status=200, headers=headers, body=page_html)
        else:
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 2000})
    context.route("**/*", serve)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(f"{ORIGIN}/report.html", wait_until="load")

    assert requests == [f"{ORIGIN}/report.html"]  # no font, image, style sheet or script fetched
    charts = page.locator("svg[data-chart]")
    if name == "report":
        assert [charts.nth(i).get_attribute("data-chart") for i in range(charts.count())] == list(CHARTS)
        for i in range(charts.count()):
            chart = charts.nth(i)
            frame = chart.bounding_box()
            assert frame and frame["width"] > 800 and frame["height"] > 60, frame  # scaled to the section
            bars = chart.locator('[aria-roledescription="bar"]')
            assert bars.count() > 0
            for j in range(bars.count()):
                box = bars.nth(j).bounding_box()
                assert box and box["width"] > 0 and box["height"] > 0
        assert page.get_by_text("pulls net sentiment up").count() == 2  # drawn text, not a glyph outline
    else:
        assert charts.count() == 0 and page.get_by_text("No reviews match these filters").is_visible()

    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    assert not errors, errors
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / f"{name}.png")
