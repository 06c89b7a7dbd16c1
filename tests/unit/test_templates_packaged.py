"""The templates of the model cards and the report ship in the wheel: each file under ``nlp/templates`` and
every data file of ``api`` (the report's template among them) matches a ``[tool.setuptools.package-data]``
pattern of ``pyproject.toml``."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

NLP = Path(__file__).resolve().parents[2] / "nlp"


def test_every_template_is_package_data() -> None:
    config = tomllib.loads((NLP.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["nlp"]
    templates = sorted(p.relative_to(NLP).as_posix() for p in (NLP / "templates").iterdir() if p.is_file())
    assert "templates/sentiment_card.md.j2" in templates
    assert [t for t in templates if not any(fnmatch(t, pattern) for pattern in patterns)] == []


def test_every_data_file_of_the_service_is_package_data() -> None:
    """The demo shop's templates, the knowledge base and the migrations ship in the wheel (they moved with
    the service's and the store's modules once: a pattern left behind would break an installed service)."""
    api = NLP.parent / "api"
    config = tomllib.loads((NLP.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["api"]
    data = sorted(
        p.relative_to(api).as_posix()
        for p in api.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    )
    assert "service/knowledge_base.yml" in data and "service/demo/shop.css" in data
    assert "reporting/templates/report.html.j2" in data and "reporting/templates/report.css" in data
    assert [f for f in data if not any(fnmatch(f, pattern) for pattern in patterns)] == []
