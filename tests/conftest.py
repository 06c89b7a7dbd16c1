"""Shared fixtures: the real analyzer over the committed models, the shared datasets when present, and the
API served on loopback (``server``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from nlp.paths import DATASETS_DIR, PROJECT_ROOT
from tests.live import api_server

EXAMPLES = PROJECT_ROOT / "examples" / "reviews.csv"

needs_datasets = pytest.mark.skipif(
    not (DATASETS_DIR / "womens_clothing_reviews").exists(),
    reason=f"shared datasets not found at {DATASETS_DIR} (set REVIEWPULSE_DATASETS_DIR)",
)


@pytest.fixture(scope="session")
def analyzer():
    from nlp.analyzer import Analyzer

    return Analyzer()


@pytest.fixture(scope="session")
def examples_path() -> Path:
    return EXAMPLES


def pytest_configure(config):
    config.addinivalue_line("markers", "rasa: runs a real Rasa server (installs Rasa 3.6 into ~/.cache once)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``reviewpulse serve`` on loopback over a fresh store, one per test module:
    ``{"base", "headers" (admin key), "env", "data"}``."""
    with api_server(tmp_path_factory.mktemp("server-data")) as live:
        yield live
