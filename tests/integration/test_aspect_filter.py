"""The learned aspect-term filter (nlp.analysis.aspect_filter) on real spaCy parses and the registered Word2Vec
vectors: the registered artifact's decisions, its export from scikit-learn, and what it refuses to load."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from spacy.language import Language

from nlp.analysis.aspect_filter import FILTER_FILE, AspectFilter, feature_names, feature_rows, head_vector
from nlp.analysis.aspect_polarity import AspectPolarity
from nlp.analysis.aspects import aspect_candidates, extract_aspects
from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.analysis.text import load_spacy
from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import Registry
from nlp.training.aspect_training import Examples, export, fit, train_aspects_artifact
from tests.conftest import models_copy, needs_datasets


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_spacy()


@pytest.fixture(scope="module")
def embeddings() -> PhraseEmbeddings:
    return PhraseEmbeddings.load(Registry().path("embeddings"))


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Runs small, lovely fabric.", ["fabric"]),
        ("The zipper broke after one wash.", ["zipper"]),  # not "wash"
        ("The print is pretty but the sizing is way off.", ["print", "sizing"]),
        ("The model in the photo is tall.", []),  # the shop's photo and model are no aspects
        ("I bought this for my sister's birthday last week.", []),
        ("I usually wear a size 8 and the medium fit.", []),  # sizes worn; "fit" here is the verb's outcome
    ],
)
def test_registered_filter_keeps_the_aspects(nlp, embeddings, text: str, terms: list[str]) -> None:
    aspect_filter = AspectFilter.load(Registry().path("aspects"), embeddings)
    found = [m.text for m in extract_aspects(nlp(text), candidate_filter=aspect_filter) if not m.implicit]
    assert found == terms


def test_exported_filter_scores_as_scikit_learn(nlp, embeddings, tmp_path: Path) -> None:
    texts = [
        "The fabric is so soft but it runs small.",
        "I wore it with my jeans and boots to a party.",
        "Love the color, the sleeves are too long.",
        "The model in the photo is tall and the hem is uneven.",
    ]
    candidates = [c for text in texts for c in aspect_candidates(nlp(text))]
    dimensions = embeddings.vectors.vector_size
    rows = np.concatenate(
        [
            feature_rows(
                [c for c in candidates if c.token.doc is doc],
                partial(head_vector, embeddings=embeddings),
                dimensions,
            )
            for doc in dict.fromkeys(c.token.doc for c in candidates)
        ]
    )
    labels = np.array([c.kept for c in candidates])
    assert labels.any() and not labels.all()
    model = fit(Examples(rows, labels, np.zeros(len(labels)), labels, int(labels.sum())), 1.0)
    (tmp_path / FILTER_FILE).write_text(json.dumps(export(model, 0.5, dimensions)))
    loaded = AspectFilter.load(tmp_path, embeddings)
    ours = np.concatenate(
        [
            loaded.probabilities([c for c in candidates if c.token.doc is doc])
            for doc in dict.fromkeys(c.token.doc for c in candidates)
        ]
    )
    assert np.allclose(ours, model.predict_proba(rows)[:, 1])
    assert loaded.keep(candidates[:1]) == [bool(ours[0] >= 0.5)]
    assert len(feature_names(dimensions)) == rows.shape[1]


def test_filter_trained_on_other_features_is_refused(embeddings, tmp_path: Path) -> None:
    names = list(feature_names(embeddings.vectors.vector_size))[:-1]
    payload = {
        "features": names,
        "mean": [0] * len(names),
        "scale": [1] * len(names),
        "coef": [0] * len(names),
    }
    (tmp_path / FILTER_FILE).write_text(json.dumps({**payload, "intercept": 0, "threshold": 0.5}))
    with pytest.raises(ValueError, match="other features"):
        AspectFilter.load(tmp_path, embeddings)
    with pytest.raises(FileNotFoundError):
        AspectFilter.load(tmp_path / "missing", embeddings)


@needs_datasets
def test_train_aspects_reproduces_the_committed_filter(tmp_path: Path) -> None:
    models = models_copy(tmp_path / "models")
    (
        models / "aspects"
    ).unlink()  # a folder of its own, so that the new version lands in the copy, not the checkout
    (models / "aspects").mkdir()
    for version in ("1", "2", "3"):
        (models / "aspects" / f"v{version}").symlink_to(nlp_settings().models_dir / "aspects" / f"v{version}")
    metrics = train_aspects_artifact(models_dir=models, speed_sentences=50)
    committed = json.loads((nlp_settings().models_dir / "aspects" / "v3" / "metrics.json").read_text())
    for key in ("C", "threshold", "dev_term", "dev_term_rules", "train_cv_term", "train_cv_term_rules"):
        assert metrics[key] == committed[key], key
    version = Registry(models).get("aspects").version
    assert version == "4" and Registry().get("aspects").version == "3"  # registered in the copy only
    card = (models / "aspects" / "v4" / "MODEL_CARD.md").read_text()
    assert card.startswith("# aspects v4") and str(metrics["dev_term"]["f1"]) in card
    committed_filter = json.loads((nlp_settings().models_dir / "aspects" / "v3" / FILTER_FILE).read_text())
    # the solver's last digits depend on the CPU's BLAS kernels (one coefficient of 2.7e-4 moved by 2e-9 on
    # another machine of the same kind); the decisions above must be the same to the last one
    assert json.loads((models / "aspects" / "v4" / FILTER_FILE).read_text())["coef"] == pytest.approx(
        committed_filter["coef"], rel=1e-4, abs=1e-7
    )
    polarity, committed_polarity = metrics["polarity"], committed["polarity"]
    assert (polarity["C"], polarity["train_targets"]) == (
        committed_polarity["C"],
        committed_polarity["train_targets"],
    )
    # the int8 encoder's states move in their last digits between CPUs: two of 185 dev targets of room
    assert polarity["dev"] == pytest.approx(committed_polarity["dev"], abs=0.011)
    assert AspectPolarity.load(models / "aspects" / "v4") is not None
