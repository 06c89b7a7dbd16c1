"""Settings read from the environment when they are used, not when their module is imported: the
``REVIEWPULSE_*`` locations of :mod:`nlp.artifacts.paths` and the chat actions' confidence threshold."""

from __future__ import annotations

import re

import pytest

from chatbot.actions.common import is_confident
from nlp.artifacts.base_models import base_model_dir
from nlp.artifacts.paths import NlpSettings, nlp_settings
from nlp.artifacts.registry import Registry
from nlp.training.datasets import clothing_reviews


def test_locations_set_after_import_take_effect(tmp_path, nlp_env) -> None:
    assert nlp_settings().models_dir != tmp_path / "models"
    nlp_env("REVIEWPULSE_MODELS_DIR", tmp_path / "models")
    assert nlp_settings().models_dir == tmp_path / "models"
    assert Registry().models_dir == tmp_path / "models"  # a default argument, resolved when called
    assert Registry().entries() == []

    nlp_env("REVIEWPULSE_DATASETS_DIR", tmp_path / "datasets")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "datasets" / "womens_clothing"))):
        clothing_reviews()

    nlp_env("REVIEWPULSE_BASE_MODELS_DIR", tmp_path / "base")
    with pytest.raises(FileNotFoundError, match=re.escape(f"not installed in {tmp_path / 'base'}")):
        base_model_dir("all-mpnet-base-v2")

    nlp_env("REVIEWPULSE_BASE_MODEL", tmp_path / "my-minilm")  # a local folder in place of the default base
    assert base_model_dir() == tmp_path / "my-minilm"


def test_the_locations_return_to_the_environment_after_a_test() -> None:
    """Runs after the test above (file order): its variables and cached settings are gone."""
    assert nlp_settings() == NlpSettings()


@pytest.mark.parametrize(("threshold", "confident"), [(None, True), ("0.7", False)])
def test_the_actions_confidence_threshold_is_read_when_an_answer_is_judged(
    monkeypatch, threshold: str | None, confident: bool
) -> None:
    if threshold is None:
        monkeypatch.delenv("REVIEWPULSE_MIN_CONFIDENCE", raising=False)  # the default, 0.5
    else:
        monkeypatch.setenv("REVIEWPULSE_MIN_CONFIDENCE", threshold)
    answer = {"out_of_scope": False, "intent": {"name": "get_refund", "confidence": 0.6}, "product": None}
    assert is_confident(answer) is confident
