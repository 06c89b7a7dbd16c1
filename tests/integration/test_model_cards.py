"""Model cards rendered from their Jinja2 templates (``nlp/cards.py``): the intent card of the committed
``models/intent/v2`` comes out as committed from its ``metrics.json``, and a small metrics dict gives a card
without the sections it has no figures for. (Integration tier: ``nlp.recipes_intent`` imports the training
stack, about 7 s.)"""

from __future__ import annotations

import json
import re

import jinja2
import pytest

from nlp.paths import MODELS_DIR
from nlp.recipes_intent import intent_config, write_intent_card


def test_the_intent_card_of_v2_renders_as_committed(tmp_path):
    committed = (MODELS_DIR / "intent" / "v2" / "MODEL_CARD.md").read_text(encoding="utf-8")
    metrics = json.loads((MODELS_DIR / "intent" / "v2" / "metrics.json").read_text(encoding="utf-8"))
    source = re.search(r"^- Data: (.*)\. Training rows", committed, flags=re.M)[1]  # the run's own inputs
    command = re.search(r"^- Reproduce: `(.*)`", committed, flags=re.M)[1]
    folder = tmp_path / "v2"
    folder.mkdir()
    write_intent_card(folder, intent_config(), metrics, source, command)
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    # the generated card, then the history a person added under it ("What changed from intent v1")
    added = "\n## What changed from intent v1"
    assert committed.startswith(card) and committed[len(card) :].startswith(added)
    assert "## Natural questions (the headline)" in card and "## Entities" in card


def small_metrics() -> dict:
    return {
        "test": {"n": 40, "accuracy": 0.9, "macro_f1": 0.88, "labels": ["refund", "track_order"]},
        "baseline_tfidf_logreg_test": {"accuracy": 0.8, "macro_f1": 0.79},
        "out_of_scope": {
            "threshold": 0.42,
            "calibration": "quantile",
            "off_topic_questions": 12,
            "off_topic_flagged": 0.75,
            "in_scope_test_flagged": 0.05,
            "baseline_off_topic_flagged": 0.5,
            "baseline_in_scope_test_flagged": 0.1,
        },
        "training_minutes": 1.5,
        "classes": ["refund", "track_order"],
        "train_rows": 300,
        "validation_rows": 40,
    }


def test_an_intent_card_from_a_small_metrics_dict(tmp_path):
    folder = tmp_path / "v9"
    folder.mkdir()
    write_intent_card(folder, intent_config(epochs=2.0), small_metrics(), "my <questions>.csv", "train --x")
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith("# intent v9\n\nFine-tuned from ")
    assert "over 2 intents;" in card and "`out_of_scope` class" not in card.split("\n\n")[1]
    assert "- Data: my <questions>.csv. Training rows 300, validation rows 40, test rows 40." in card
    assert "- Reproduce: `train --x`\n\n## Accuracy (held-out test)\n" in card  # no natural section
    assert "| this model | 0.9 | 0.88 |" in card and "| this model | 0.75 | 0.05 |" in card
    assert "below 0.42" in card and "quantile of that probability on in-scope validation questions." in card
    assert "## Natural questions" not in card and "## Entities" not in card
    assert card.endswith("| 0.5 | 0.1 |\n\nPer-intent F1 and the confusion matrix: `metrics.json`.\n")


def test_an_intent_card_refuses_to_drop_a_missing_figure(tmp_path):
    metrics = small_metrics()
    del metrics["training_minutes"]
    with pytest.raises(jinja2.UndefinedError, match="training_minutes"):
        write_intent_card(tmp_path, intent_config(), metrics, "data", "command")
