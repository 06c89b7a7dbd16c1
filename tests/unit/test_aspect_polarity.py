"""The aspect polarity head (nlp.analysis.aspect_polarity): its numpy reading is scikit-learn's, its file round-trips,
and a damaged or missing file is refused or reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.analysis.aspect_polarity import POLARITY_FILE, AspectPolarity
from nlp.training.polarity_training import PolarityExamples, export, fit


def _examples(rows: int = 90, size: int = 8) -> PolarityExamples:
    rng = np.random.default_rng(27)
    y = np.array(["negative", "neutral", "positive"] * (rows // 3))
    X = rng.normal(size=(rows, size)) + (y == "positive")[:, None] - (y == "negative")[:, None]
    return PolarityExamples(X, y, y.copy(), np.arange(rows) // 3)


def test_the_exported_head_reads_as_scikit_learn(tmp_path: Path) -> None:
    examples = _examples()
    model = fit(examples, 1.0)
    head = export(model, "9")
    (tmp_path / POLARITY_FILE).write_text(json.dumps(head.to_dict()))
    loaded = AspectPolarity.load(tmp_path)
    assert loaded is not None and loaded.labels == ["negative", "neutral", "positive"]
    assert loaded.sentiment_version == "9"
    probs = loaded.probabilities(examples.X)
    np.testing.assert_allclose(probs, model.predict_proba(examples.X), atol=1e-9)
    assert (np.array(loaded.labels)[probs.argmax(1)] == model.predict(examples.X)).all()


def test_a_missing_head_is_none_and_a_damaged_one_refused(tmp_path: Path) -> None:
    assert AspectPolarity.load(tmp_path) is None
    payload = export(fit(_examples(), 1.0), "9").to_dict()
    payload["coef"] = payload["coef"][:2]
    (tmp_path / POLARITY_FILE).write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="retrain"):
        AspectPolarity.load(tmp_path)
