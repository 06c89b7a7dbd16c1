"""Model cards rendered from their Jinja2 templates (``nlp/training/cards.py``): the cards of the committed
``models/intent/v2``, ``models/sentiment/v5`` and ``models/embeddings/v1`` come out as committed from their
``metrics.json``, and small metrics dicts give cards without the sections they have no figures for, or an
ensemble's. (Integration tier: the recipes import the training stack, about 7 s.)"""

from __future__ import annotations

import json
import re

import jinja2
import pytest

from nlp.artifacts.paths import nlp_settings
from nlp.training.cards import render_card
from nlp.training.config import TrainingConfig, intent_config
from nlp.training.intent_recipe import write_intent_card
from nlp.training.sentiment_recipe import write_card


def test_the_intent_card_of_v2_renders_as_committed(tmp_path):
    committed = (nlp_settings().models_dir / "intent" / "v2" / "MODEL_CARD.md").read_text(encoding="utf-8")
    metrics = json.loads(
        (nlp_settings().models_dir / "intent" / "v2" / "metrics.json").read_text(encoding="utf-8")
    )
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


def committed(folder: str) -> tuple[str, dict]:
    card = (nlp_settings().models_dir / folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    return card, json.loads((nlp_settings().models_dir / folder / "metrics.json").read_text(encoding="utf-8"))


def test_the_sentiment_card_of_v5_renders_as_committed(tmp_path):
    card, metrics = committed("sentiment/v5")
    source = re.search(r"^- Data: (.*)\. Labels: ", card, flags=re.M)[1]  # the run's own inputs
    command = re.search(r"^- Reproduce: `(.*)`$", card, flags=re.M)[1]
    config = TrainingConfig(  # as the card's "Training rows" line and its LoRA base say
        epochs=1.0,
        learning_rate=5e-4,
        rating_smoothing=0.25,
        model_version="5",
        base_model="all-mpnet-base-v2",
    )
    write_card(tmp_path, "sentiment", config, metrics, source, command)
    rendered = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith(rendered) and card[len(rendered) :].startswith("\n## ")  # then history by hand
    assert "| SST-2 dev, binary accuracy: this model | 0.9266 | |" in rendered


def test_a_sentiment_card_of_an_ensemble_from_a_small_metrics_dict(tmp_path):
    _, metrics = committed("sentiment/v5")
    for key in ("sst2_dev_binary_accuracy", "baseline_sst2_dev_binary_accuracy"):
        del metrics[key]
    metrics["members"] = [
        {"folder": f"member-{i}", "from": f"runs/m{i}", "base_model": base, "train_rows": 100 + i,
         "training_minutes": 2.5, "validation_macro_f1": 0.7, "test_macro_f1": 0.69}
        for i, base in enumerate(["all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "all-mpnet-base-v2"])
    ]  # fmt: skip
    write_card(tmp_path, "sentiment", TrainingConfig(model_version="8"), metrics, "data", "ensemble --x")
    card = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith(
        "# sentiment v8\n\nAn ensemble of 3 fine-tunes of `sentence-transformers/all-MiniLM"
    )
    assert "| `member-2` | `runs/m2` | all-mpnet-base-v2 | 102 | 2.5 | 0.7 | 0.69 |\n\nThe averaged" in card
    assert (
        "- Reproduce: train each member with the command in its card, then `ensemble --x`\n\n## Metrics"
        in card
    )
    assert (
        "SST-2" not in card and "| TF-IDF + logistic regression, same split | 0.6426 | 0.8251 |\n\n" in card
    )


def test_the_embeddings_card_of_v1_renders_as_committed():
    card, metrics = committed("embeddings/v1")
    source = re.search(r"^- Data: (.*); \d+ documents", card, flags=re.M)[1]
    command = re.search(r"^- Reproduce: `(.*)`", card, flags=re.M)[1]
    context = {"version": "1", "seed": 13, "source": source, "command": command, "metrics": metrics}
    assert render_card("embeddings_card.md.j2", **context) == card
