"""The templates of the report and model cards ship in the wheel: each file under ``nlp/templates`` matches a
``[tool.setuptools.package-data]`` pattern of ``pyproject.toml``, and the report's template loads."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

NLP = Path(__file__).resolve().parents[2] / "nlp"


def test_every_template_is_package_data() -> None:
    config = tomllib.loads((NLP.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["nlp"]
    templates = sorted(p.relative_to(NLP).as_posix() for p in (NLP / "templates").iterdir() if p.is_file())
    assert "templates/report.html.j2" in templates and "templates/report.css" in templates
    assert [t for t in templates if not any(fnmatch(t, pattern) for pattern in patterns)] == []
