"""The brand manager's HTML report opened in headless Chromium: the rendered DOM holds the four charts with
their bars (or says there are no reviews), and a screenshot is kept in tests/artifacts/report.png."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlp.reports import report_html
from tests.chromium import ARTIFACTS, needs_chromium, run_chromium
from tests.unit.test_report_html import CHARTS, empty_report, parse, realistic_report


@needs_chromium
@pytest.mark.parametrize(("name", "make"), [("report", realistic_report), ("report-empty", empty_report)])
def test_report_renders_in_headless_chromium(name: str, make, tmp_path: Path) -> None:
    page = tmp_path / f"{name}.html"
    page.write_text(report_html(make()), encoding="utf-8")

    dom = run_chromium(["--dump-dom", page.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = parse(dom.stdout)
    if name == "report":
        assert [svg["data-chart"] for svg in rendered.svgs] == list(CHARTS)
        for chart in CHARTS:
            assert len(rendered.bars[chart]) > 0, chart
    else:
        assert rendered.svgs == [] and "No reviews match these filters" in dom.stdout

    shot = tmp_path / f"{name}.png"
    result = run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / f"{name}.png")
