"""The intent recipe: ``reviewpulse train intent`` fine-tunes, calibrates out of scope, measures, documents.

Default data is the Bitext customer-support set (27 intents) split by row hash; any labelled file works
(``--data``), optionally with an official test file (``--test-data``, e.g. BANKING77's test split).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.analysis.classifier import ClassifierConfig, Prediction, TextClassifier
from nlp.artifacts.base_models import base_model
from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import ModelEntry, Registry
from nlp.intents.classifier import (
    INTENT_FILE,
    NATURAL_SETS,
    OUT_OF_SCOPE,
    TARGET_IN_SCOPE_FLAG_RATE,
    TRAINING_QUESTIONS,
    IntentClassifier,
    balanced_threshold,
    calibrate_threshold,
    evaluate_intents,
    extract_entities,
    labelled_questions,
    out_of_scope_questions,
)
from nlp.training import datasets
from nlp.training.baseline import tfidf_logreg
from nlp.training.cards import render_card
from nlp.training.config import TrainingConfig, intent_config
from nlp.training.finetune import train_classifier
from nlp.training.metrics import classification_report

#: Training data that may join Bitext's train split, by name: the hand-written natural questions with their
#: off-topic class (:data:`~nlp.intents.classifier.TRAINING_QUESTIONS`) and the BANKING77 queries that mean a support
#: intent (:data:`~nlp.training.datasets.BANKING77_SUPPORT_INTENTS`, at most this many per BANKING77 intent).
EXTRA_SOURCES = ("natural", "banking77")
BANKING77_PER_INTENT = 60
#: The sources of the default recipe (the intent card measures the others).
DEFAULT_SOURCES = ("natural",)


def extra_training_data(
    sources: Sequence[str], datasets_dir: Path | None, seed: int
) -> tuple[pd.DataFrame, str]:
    """The rows of ``sources`` (names of :data:`EXTRA_SOURCES`) as one ``text, label`` frame, and a description.

    Raises:
        ValueError: an unknown source name.
    """
    unknown = sorted(set(sources) - set(EXTRA_SOURCES))
    if unknown:
        raise ValueError(f"unknown training sources {unknown}; known: {', '.join(EXTRA_SOURCES)}")
    parts, described = [], []
    if "natural" in sources:
        natural = labelled_questions(TRAINING_QUESTIONS).rename(columns={"intent": "label"})
        parts.append(natural[["text", "label"]])
        described.append(
            f"{len(natural)} hand-written natural questions ({(natural.label == OUT_OF_SCOPE).sum()} of them "
            f"off topic, the `{OUT_OF_SCOPE}` class; `nlp/data/intents_train/`)"
        )
    if "banking77" in sources:
        banking = datasets.banking77_support(BANKING77_PER_INTENT, seed, datasets_dir)
        parts.append(banking)
        described.append(
            f"{len(banking)} BANKING77 train queries of {len(datasets.BANKING77_SUPPORT_INTENTS)} intents that "
            f"mean a support intent (at most {BANKING77_PER_INTENT} each; `nlp.training.datasets.BANKING77_SUPPORT_INTENTS`)"
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["text", "label"])
    return frame, "; ".join(described)


def _splits(
    data: pd.DataFrame | None,
    test_data: pd.DataFrame | None,
    datasets_dir: Path | None,
    sources: Sequence[str],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    if data is None:
        frame = datasets.bitext_support(datasets_dir)
        parts = [frame[frame.split == s] for s in datasets.SPLITS]
        extra, described = extra_training_data(sources, datasets_dir, seed)
        train = pd.concat([parts[0][["text", "label"]], extra], ignore_index=True)
        source = "bitext_customer_support (27 intents), split 75/10/15 by row hash; its train split" + (
            f" and {described}" if described else ""
        )
        return train, parts[1], parts[2], source
    split = pd.Series(range(len(data))).map(datasets.split_of).to_numpy()
    if test_data is None:
        train, validation, test = (data[split == s] for s in datasets.SPLITS)
        return train, validation, test, "user data, split 75/10/15 by row number hash"
    # an official test file: the validation bucket of the data tunes, everything else trains
    return (
        data[split != "validation"],
        data[split == "validation"],
        test_data,
        "user data + its own test file",
    )


def _share(flags: Sequence[bool]) -> float:
    return round(float(np.mean(flags)), 4)


#: The grid the out-of-scope threshold is chosen from on natural dev questions.
CALIBRATION_THRESHOLDS = tuple(round(0.01 * k, 2) for k in range(1, 100))


class LexicalModel:
    """A fitted TF-IDF + logistic-regression pipeline behind :class:`~nlp.analysis.classifier.TextClassifier`'s
    ``labels`` / ``predict`` / ``config.model_version``, so :class:`IntentClassifier` wraps the baseline too."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.labels = [str(name) for name in pipeline.classes_]
        self.config = ClassifierConfig(labels=self.labels, model_version="tfidf-baseline")

    def predict(self, texts: Sequence[str]) -> Prediction:
        probs = self.pipeline.predict_proba(list(texts))
        return Prediction(probs, [self.labels[k] for k in probs.argmax(axis=1)], [False] * len(probs))


def train_intent(
    out_dir: Path | None = None,
    config: TrainingConfig | None = None,
    data: pd.DataFrame | None = None,
    test_data: pd.DataFrame | None = None,
    datasets_dir: Path | None = None,
    command: str = "reviewpulse train intent",
    models_dir: Path | None = None,
    limit: int | None = None,
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> dict:
    """Fine-tune an intent classifier, calibrate its out-of-scope threshold, measure it, write its card.

    With the default data (Bitext's train split plus ``sources``), the out-of-scope threshold is the one at
    which the natural dev questions meet both goals best (:func:`~nlp.intents.classifier.balanced_threshold`) and the
    natural test questions are the card's headline (:data:`~nlp.intents.classifier.NATURAL_SETS`); with user data it is
    the :data:`~nlp.intents.classifier.TARGET_IN_SCOPE_FLAG_RATE` quantile of the top-intent probability on in-scope
    validation questions. The off-topic questions of :func:`out_of_scope_questions` only measure. A TF-IDF +
    logistic-regression baseline on the same rows is calibrated and measured the same way. The default model
    (``out_dir`` None) goes to ``models/intent/v<version>`` and is registered as ``intent``; a model written
    to ``out_dir`` is not registered.

    Args:
        data, test_data: labelled frames with ``text`` and ``label`` columns (None: the Bitext set).
        limit: train on about this many rows, spread over every intent (smoke tests).
        sources: extra training data with the Bitext set (names of :data:`EXTRA_SOURCES`).

    Raises:
        ValueError: an unknown source.

    Returns:
        The metrics written to ``metrics.json`` and the card.
    """
    config = config or intent_config()
    register = out_dir is None
    models_dir = models_dir or nlp_settings().models_dir
    out_dir = out_dir or models_dir / "intent" / f"v{config.model_version}"
    train, validation, test, source = _splits(data, test_data, datasets_dir, sources, config.seed)
    if limit:
        share = max(1, limit // train["label"].nunique())
        train = train.sample(frac=1.0, random_state=config.seed).groupby("label").head(share)
        validation, test = validation.head(max(limit // 4, 20)), test.head(max(limit // 4, 20))
    labels = sorted(set(train["label"].astype(str)))
    test = test[test["label"].astype(str).isin(labels)]
    texts, targets = train["text"].tolist(), train["label"].astype(str).tolist()

    started = time.time()
    train_classifier(texts, targets, labels, out_dir, config)
    minutes = round((time.time() - started) / 60, 1)
    clf = IntentClassifier(TextClassifier.load(out_dir), threshold=0.0)
    baseline = IntentClassifier(LexicalModel(tfidf_logreg(texts, targets, seed=config.seed)), threshold=0.0)
    # the natural dev questions calibrate where they apply (Bitext intents); else in-scope validation questions
    natural_dev = labelled_questions(NATURAL_SETS["natural-dev"]) if data is None else None
    for model in (clf, baseline):
        model.threshold = (
            balanced_threshold(evaluate_intents(model, natural_dev, CALIBRATION_THRESHOLDS)["curve"])
            if natural_dev is not None
            else calibrate_threshold([r.confidence for r in model.predict(validation["text"].tolist(), 1)])
        )
    calibration = (
        "balanced on natural-dev" if natural_dev is not None else f"{TARGET_IN_SCOPE_FLAG_RATE} quantile"
    )
    (out_dir / INTENT_FILE).write_text(
        json.dumps({"out_of_scope_threshold": clf.threshold, "calibration": calibration}) + "\n"
    )

    oos = out_of_scope_questions()
    gold = test["label"].astype(str).tolist()

    def bitext_figures(model: IntentClassifier) -> tuple[dict, dict]:
        results = model.predict(test["text"].tolist(), 1)
        report = classification_report(gold, [r.intent for r in results], model.labels)
        flags = {
            "in_scope_test_flagged": _share([r.out_of_scope for r in results]),
            "off_topic_flagged": _share([r.out_of_scope for r in model.predict(oos, 1)]),
        }
        return report, flags

    report, flags = bitext_figures(clf)
    base_report, base_flags = bitext_figures(baseline)
    metrics: dict = {
        "test": report,
        "baseline_tfidf_logreg_test": base_report,
        "out_of_scope": {
            "threshold": clf.threshold,
            "calibration": calibration,
            **flags,
            "off_topic_questions": len(oos),
            "baseline_threshold": baseline.threshold,
            **{f"baseline_{key}": value for key, value in base_flags.items()},
        },
        "training_minutes": minutes,
        "classes": labels,
        "train_rows": len(train),
        "validation_rows": len(validation),
    }
    if data is None:
        metrics["entities_test"] = entity_recall(test)
    if natural_dev is not None:  # the natural sets are labelled with Bitext's 27 intents
        metrics["natural"] = {
            name: evaluate_intents(clf, labelled_questions(path)) for name, path in NATURAL_SETS.items()
        }
        metrics["baseline_natural"] = {
            name: evaluate_intents(baseline, labelled_questions(path)) for name, path in NATURAL_SETS.items()
        }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_intent_card(out_dir, config, metrics, source, command)
    if register:
        natural = metrics.get("natural", {}).get("natural-test", {})
        headline = {
            f"natural_test_{key}": natural[key]
            for key in ("in_scope_correct", "off_topic_flagged")
            if key in natural
        } | {
            "test_accuracy": report["accuracy"],
            "baseline_test_accuracy": base_report["accuracy"],
            "off_topic_flagged": metrics["out_of_scope"]["off_topic_flagged"],
            "in_scope_test_flagged": metrics["out_of_scope"]["in_scope_test_flagged"],
        }
        registry = Registry(models_dir)
        registry.register(
            ModelEntry("intent", config.model_version, str(out_dir.relative_to(models_dir)), metrics=headline)
        )
    return metrics


#: Bitext entity types under their ReviewPulse names (the rest are the same).
ENTITY_TYPE_OF = {"delivery_city": "location", "delivery_country": "location"}


def entity_recall(frame: pd.DataFrame) -> dict:
    """Share of Bitext's annotated entity values that :func:`extract_entities` finds, per entity type.

    Types are compared through :data:`ENTITY_TYPE_OF` (Bitext's ``delivery_city`` / ``delivery_country``
    are our ``location``). A found value counts when it contains the annotated one or lies inside it: the
    annotations sometimes drop leading zeros (``00123842`` -> ``123842``) or the currency (``$299`` -> ``299``).
    """
    from nlp.analysis.text import TextPreparer

    preparer = TextPreparer()
    hits: dict[str, list[bool]] = {}
    for text, kind, value in zip(frame["text"], frame["entity_type"], frame["entity_value"], strict=True):
        if not kind:
            continue
        ours = ENTITY_TYPE_OF.get(kind, kind)
        gold = value.lstrip("#").lower()
        found = [e.value.lower() for e in extract_entities(text, preparer) if e.type == ours]
        hits.setdefault(kind, []).append(any(gold in v or v in gold for v in found))
    return {kind: {"n": len(v), "recall": round(sum(v) / len(v), 4)} for kind, v in sorted(hits.items())}


def _natural(metrics: dict) -> dict | None:
    """The card's headline section as data: the natural-phrasing test, dev and baseline reports, the table
    rows ``(name, key of those reports, Bitext test figure)`` and the test's threshold curve at steps of 0.1;
    None without natural figures.

    ``metrics["natural"]`` holds :func:`~nlp.intents.classifier.evaluate_intents` reports by set name; the Bitext column
    comes from ``metrics["test"]`` and ``metrics["out_of_scope"]``.
    """
    if "natural" not in metrics:
        return None
    test, oos = metrics["natural"]["natural-test"], metrics["out_of_scope"]
    return {
        "test": test,
        "dev": metrics["natural"]["natural-dev"],
        "baseline": metrics["baseline_natural"]["natural-test"],
        "rows": [
            ("in-scope questions: right intent, not flagged", "in_scope_correct", "-"),
            ("in-scope questions flagged out of scope", "in_scope_flagged", oos["in_scope_test_flagged"]),
            ("top-1 intent right (flag ignored)", "top1_accuracy", metrics["test"]["accuracy"]),
            ("off-topic questions flagged", "off_topic_flagged", oos["off_topic_flagged"]),
            ("near misses flagged", "near_miss_flagged", "-"),
        ],
        "curve": [p for p in test["curve"] if round(p["threshold"] * 10, 6).is_integer()],
    }


def _calibration_text(calibration: str) -> str:
    if calibration.startswith("balanced"):
        return (
            "the one of 0.01 to 0.99 at which the worse of the two natural goals (in-scope questions right and"
            " unflagged, off-topic ones flagged) is best on the natural dev questions."
        )
    return (
        f"the {TARGET_IN_SCOPE_FLAG_RATE:.0%} quantile of that probability on in-scope validation questions."
    )


def write_intent_card(
    out_dir: Path, config: TrainingConfig, metrics: dict, source: str, command: str
) -> None:
    """``MODEL_CARD.md`` of an intent model (template ``nlp/templates/intent_card.md.j2``): data, split,
    command, time, accuracy and out-of-scope figures, the natural questions' and entities' when ``metrics``
    has them.

    Raises:
        KeyError, jinja2.UndefinedError: ``metrics`` lacks a figure the card shows.
    """
    spec = base_model(config.base_model)
    classes = f"{len(metrics['test']['labels'])} intents" + (
        f" and an `{OUT_OF_SCOPE}` class" if OUT_OF_SCOPE in metrics.get("classes", []) else ""
    )
    card = render_card(
        "intent_card.md.j2",
        name=out_dir.name,
        origin=spec.origin,
        lora_targets=spec.lora_targets,
        classes=classes,
        config=config,
        metrics=metrics,
        test=metrics["test"],
        baseline=metrics["baseline_tfidf_logreg_test"],
        oos=metrics["out_of_scope"],
        calibration=_calibration_text(metrics["out_of_scope"]["calibration"]),
        out_of_scope=OUT_OF_SCOPE,
        natural=_natural(metrics),
        entities=metrics.get("entities_test"),
        source=source,
        command=command,
    )
    (out_dir / "MODEL_CARD.md").write_text(card)
