"""Shared fixtures: the real analyzer over the committed models, and the shared datasets when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from nlp.paths import DATASETS_DIR, PROJECT_ROOT

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
