"""The sentiment recipe: the data and its split, fine-tuning, ensembles and their TF-IDF blend, evaluation on
the clothing test split and SST-2 dev, the model card and registering.

``reviewpulse train sentiment`` calls :func:`train_sentiment`; the model card it writes records the data,
split, seed, command, time taken and the metrics next to the TF-IDF + logistic-regression baseline.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nlp.analysis.classifier import (
    LEXICAL_FILE,
    TextClassifier,
    assemble_ensemble,
    decide,
    fine_tune_bytes,
    lexical_probabilities,
)
from nlp.analysis.span_classifier import SpanClassifier
from nlp.artifacts.base_models import base_model
from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import ModelEntry, Registry
from nlp.training import datasets
from nlp.training.baseline import tfidf_logreg
from nlp.training.cards import render_card
from nlp.training.config import TrainingConfig
from nlp.training.finetune import train_classifier
from nlp.training.metrics import (
    BIAS_BOOTSTRAP,
    binary_accuracy,
    classification_report,
    cross_validate_choices,
    tune_decision_bias,
)

LABELS = datasets.SENTIMENT_LABELS
#: Transformer shares of the TF-IDF blend searched on the validation split (1.0 = no blend).
BLEND_WEIGHTS = [round(1.0 - k / 10, 1) for k in range(10)]


def evaluate_classifier(
    clf: TextClassifier | SpanClassifier, texts: Sequence[str], gold: Sequence[str]
) -> dict:
    """Accuracy, macro-F1 and confusion matrix of ``clf`` (a fine-tuned classifier or a one-pass student) on
    labelled texts."""
    pred = clf.predict(list(texts))
    return classification_report(list(gold), pred.labels, clf.labels)


def sentiment_data(datasets_dir: Path | None = None, with_sst2: bool = True, with_food: bool = True):
    """The training mixture and the held-out sets of the sentiment model.

    Returns ``(train, validation, test, sst2_dev)`` frames with ``text`` and ``label`` columns: train is the
    clothing train split (+ fine-food reviews, + SST-2 train sentences for sentence-level signal), with the
    star ``rating`` (NaN for SST-2) and the clothing reviews' ``recommended`` flag (NaN for the others);
    validation and test are clothing splits; sst2_dev is the SST-2 dev set.
    """
    clothing = datasets.clothing_reviews(datasets_dir)
    parts = [clothing[clothing.split == "train"][["text", "label", "rating", "recommended"]]]
    if with_food:
        parts.append(datasets.fine_food_reviews(datasets_dir)[["text", "label", "rating"]])
    if with_sst2:
        parts.append(datasets.sst2("train", datasets_dir))
    train = pd.concat(parts, ignore_index=True)
    validation = clothing[clothing.split == "validation"][["text", "label"]]
    test = clothing[clothing.split == "test"][["text", "label"]]
    return train, validation, test, datasets.sst2("dev", datasets_dir)


def train_sentiment(
    out_dir: Path | None = None,
    config: TrainingConfig | None = None,
    data: pd.DataFrame | None = None,
    datasets_dir: Path | None = None,
    limit: int | None = None,
    register: bool = True,
    command: str = "reviewpulse train sentiment",
    init_from: Path | None = None,
) -> dict:
    """Fine-tune the sentiment classifier, evaluate it beside the baseline, write its card and register it.

    Args:
        out_dir: artifact folder (default ``models/sentiment/v<version>``).
        data: a user's labelled frame (``text``, ``label`` in negative / neutral / positive) instead of the
            shared datasets; it is split 75/10/15 by row number with :func:`nlp.training.datasets.split_of`.
        limit: train on at most this many rows (smoke tests).
        init_from: continue from this artifact's fine-tune and head instead of the base model.

    Returns:
        The metrics dict written into the card and the registry.
    """
    config = config or TrainingConfig()
    out_dir = out_dir or nlp_settings().models_dir / "sentiment" / f"v{config.model_version}"
    (train, validation, test, sst2_dev), source = _sentiment_splits(data, datasets_dir)
    if limit:
        train = train.sample(n=min(limit, len(train)), random_state=config.seed)
        validation, test = validation.head(max(limit // 4, 20)), test.head(max(limit // 4, 20))

    soft_targets = None
    if config.rating_smoothing or config.recommend_smoothing:
        if "rating" not in train:
            raise ValueError(
                "--rating-smoothing and --recommend-smoothing need star ratings; a user file has labels only"
            )
        soft_targets = np.array(
            [
                datasets.soft_sentiment_target(
                    label, rating, config.rating_smoothing, recommended, config.recommend_smoothing
                )
                for label, rating, recommended in zip(
                    train["label"], train["rating"], train["recommended"], strict=True
                )
            ]
        )
    started = time.time()
    train_classifier(
        train["text"].tolist(),
        train["label"].tolist(),
        LABELS,
        out_dir,
        config,
        validation=(validation["text"].tolist(), validation["label"].tolist()),
        init_from=init_from,
        soft_targets=soft_targets,
    )
    minutes = round((time.time() - started) / 60, 1)
    return finish_sentiment(
        out_dir, config, (train, validation, test, sst2_dev), source, command, minutes, register
    )


def _sentiment_splits(data: pd.DataFrame | None, datasets_dir: Path | None):
    """``((train, validation, test, sst2_dev or None), source)``: the shared datasets, or a user's frame
    split 75/10/15 by row number with :func:`nlp.training.datasets.split_of`."""
    if data is None:
        source = "shared datasets: womens_clothing_reviews (split by row hash), amazon_fine_food_sample, sst2"
        return sentiment_data(datasets_dir), source
    split = pd.Series(range(len(data))).map(datasets.split_of).to_numpy()
    train, validation, test = (data[split == s][["text", "label"]] for s in datasets.SPLITS)
    return (train, validation, test, None), "user data"


def ensemble_sentiment(
    members: Sequence[Path],
    version: str,
    out_dir: Path | None = None,
    data: pd.DataFrame | None = None,
    datasets_dir: Path | None = None,
    register: bool = True,
    command: str = "reviewpulse train sentiment-ensemble",
) -> dict:
    """Combine fine-tuned sentiment artifacts into an ensemble that averages their probabilities.

    The members (trained with ``reviewpulse train sentiment`` on the same data, each with its own seed or
    fine-tuning method) are
    copied into ``out_dir`` (default ``models/sentiment/v<version>``); the lexical blend and the decision
    biases are then chosen for the ensemble on the validation split, and it is evaluated, documented and
    registered like a single model (:func:`finish_sentiment`). ``data`` must be the frame the members were
    trained on when they were not trained on the shared datasets.

    Returns:
        The metrics dict written into the card and the registry.

    Raises:
        ValueError, FileNotFoundError, FileExistsError: see :func:`nlp.analysis.classifier.assemble_ensemble`.
    """
    out_dir = out_dir or nlp_settings().models_dir / "sentiment" / f"v{version}"
    bases = [base for _, base in assemble_ensemble(members, out_dir, version).fine_tunes()]
    splits, source = _sentiment_splits(data, datasets_dir)
    described = []
    for k, (member, base) in enumerate(zip(members, bases, strict=True)):
        member_metrics = json.loads((Path(member) / "metrics.json").read_text())
        described.append(
            {
                "folder": f"member-{k}",
                "from": str(member),
                "base_model": base,
                "train_rows": member_metrics["train_rows"],
                "training_minutes": member_metrics["training_minutes"],
                "validation_macro_f1": member_metrics["validation_macro_f1"],
                "test_macro_f1": member_metrics["test"]["macro_f1"],
            }
        )
    minutes = round(sum(m["training_minutes"] for m in described), 1)
    return finish_sentiment(
        out_dir, TrainingConfig(model_version=version), splits, source, command, minutes, register, described
    )


def finish_sentiment(
    out_dir: Path,
    config: TrainingConfig,
    data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None],
    source: str,
    command: str,
    training_minutes: float,
    register: bool = True,
    members: list[dict] | None = None,
) -> dict:
    """Blend, evaluate, document and register a freshly fine-tuned sentiment artifact.

    ``members`` describes the fine-tunes of an ensemble artifact (for its card and ``metrics.json``).

    The TF-IDF + logistic-regression baseline is fitted on the same training rows. Its probabilities are
    blended with the transformer's when that raises validation macro-F1: the weight (0.1 steps) and the
    decision biases are chosen together on the validation split only; the test split is used once, at
    the end, for the transformer alone, the blend and the baseline.
    """
    train, validation, test, sst2_dev = data
    clf = TextClassifier.load(out_dir)
    baseline = tfidf_logreg(train["text"].tolist(), train["label"].tolist(), seed=config.seed)
    val_gold = validation["text"].tolist(), validation["label"].tolist()
    choices = _blend_choices(*_blend_inputs(clf, baseline, val_gold[0]), val_gold[1], config.seed)
    score, weight, bias = _best_blend(choices)

    transformer_only_bias = next(c[2] for c in choices if c[1] == 1.0)
    clf.lexical, clf.config.ensemble_weight, clf.config.decision_bias = None, 1.0, transformer_only_bias
    metrics: dict = {
        "transformer_only_test": evaluate_classifier(clf, test["text"].tolist(), test["label"].tolist())
    }
    if weight < 1.0:
        joblib.dump(baseline, out_dir / LEXICAL_FILE, compress=3)
    else:
        (out_dir / LEXICAL_FILE).unlink(missing_ok=True)
    clf.lexical = baseline if weight < 1.0 else None
    clf.config.ensemble_weight, clf.config.decision_bias = weight, bias
    clf.config.save(out_dir)

    metrics |= {
        "test": evaluate_classifier(clf, test["text"].tolist(), test["label"].tolist()),
        "baseline_tfidf_logreg_test": classification_report(
            test["label"].tolist(), list(baseline.predict(test["text"])), LABELS
        ),
        "validation_macro_f1": score,
        "ensemble_weight_transformer": weight,
        "blend_search_validation": [{"weight": w, "macro_f1": f} for f, w, _ in choices],
        "training_minutes": training_minutes,
        "train_rows": len(train),
    }
    if members:
        metrics["members"] = members
    if sst2_dev is not None:
        probs = clf.predict(sst2_dev["text"].tolist()).probabilities
        metrics["sst2_dev_binary_accuracy"] = binary_accuracy(
            probs, LABELS, sst2_dev["label"].tolist(), "positive", "negative"
        )
        base_probs = baseline.predict_proba(sst2_dev["text"])
        metrics["baseline_sst2_dev_binary_accuracy"] = binary_accuracy(
            base_probs, list(baseline.classes_), sst2_dev["label"].tolist(), "positive", "negative"
        )
    write_card(out_dir, "sentiment", config, metrics, source, command)
    if register:
        registry = Registry(out_dir.parent.parent)
        registry.register(
            ModelEntry(
                "sentiment",
                config.model_version,
                str(out_dir.relative_to(registry.models_dir)),
                metrics=_summary(metrics),
            )
        )
    return metrics


def cross_validate_sentiment_choices(
    folder: Path, repeats: int = 5, datasets_dir: Path | None = None, seed: int = 13
) -> list[dict]:
    """How well the validation split chooses the blend weight and decision biases of the artifact ``folder``.

    Runs :func:`nlp.training.metrics.cross_validate_choices` on the clothing validation split for every weight of
    :data:`BLEND_WEIGHTS`. The lexical side is the artifact's stored TF-IDF model, else one fitted on the
    training mixture as training does. Returns its list of ``{"weight", "single", "bagged"}``.
    """
    train, validation, _, _ = sentiment_data(datasets_dir)
    clf = TextClassifier.load(folder)
    lexical = clf.lexical or tfidf_logreg(train["text"].tolist(), train["label"].tolist(), seed=seed)
    return cross_validate_choices(
        *_blend_inputs(clf, lexical, validation["text"].tolist()),
        validation["label"].tolist(),
        LABELS,
        BLEND_WEIGHTS,
        repeats=repeats,
        seed=seed,
        progress=True,
    )


def _blend_choices(
    transformer: np.ndarray, lexical: np.ndarray, gold: list[str], seed: int
) -> list[tuple[float, float, list[float]]]:
    """``(validation macro-F1, transformer weight, decision biases)`` for every weight of :data:`BLEND_WEIGHTS`,
    the biases tuned on that blend of the ``(N, C)`` probabilities."""
    choices = []
    for weight in BLEND_WEIGHTS:
        blended = weight * transformer + (1 - weight) * lexical
        bias = tune_decision_bias(blended, gold, LABELS, bootstrap=BIAS_BOOTSTRAP, seed=seed)
        score = classification_report(gold, decide(blended, bias, LABELS), LABELS)["macro_f1"]
        choices.append((score, float(weight), bias))
    return choices


def _best_blend(choices: list[tuple[float, float, list[float]]]) -> tuple[float, float, list[float]]:
    """The best-scoring choice; ties keep the simpler, transformer-heavier blend."""
    return max(choices, key=lambda c: (c[0], c[1]))


def compare_sentiment_ensembles(
    members: Sequence[Path],
    data: pd.DataFrame | None = None,
    datasets_dir: Path | None = None,
    seed: int = 13,
    progress: bool = True,
) -> list[dict]:
    """Score each of ``members`` alone and every ensemble of two or more of them, as
    ``reviewpulse train sentiment-ensemble`` would build it, without writing any artifact.

    For each subset the members' probabilities are averaged, and the TF-IDF blend weight and decision
    biases are chosen on the validation split exactly as :func:`finish_sentiment` chooses them; the test
    split and SST-2 dev are then scored once with that choice, for reading only (choose on validation).
    Each member is run once, so n members cost n predictions of the splits, not one per subset.

    Args:
        members: sentiment artifacts trained on the same data (``data``, else the shared datasets).

    Returns:
        One dict per subset, best validation macro-F1 first: ``members`` (paths), ``validation_macro_f1``,
        ``weight`` (transformer share), ``test_macro_f1``, ``sst2_dev_binary_accuracy`` (shared datasets
        only) and ``size_mb`` (the fine-tunes plus, when blended, the compressed TF-IDF model).

    Raises:
        FileNotFoundError: a member is not a classifier artifact.
    """
    (train, validation, test, sst2_dev), _ = _sentiment_splits(data, datasets_dir)
    sets = {"validation": validation, "test": test} | ({"sst2_dev": sst2_dev} if sst2_dev is not None else {})
    lexical = tfidf_logreg(train["text"].tolist(), train["label"].tolist(), seed=seed)
    packed = io.BytesIO()
    joblib.dump(lexical, packed, compress=3)
    lexical_mb = len(packed.getvalue()) / 1e6
    lexical_probs = {k: lexical_probabilities(lexical, v["text"].tolist(), LABELS) for k, v in sets.items()}
    member_probs = []
    for member in tqdm(members, desc="members", unit="model", disable=not progress):
        clf = TextClassifier.load(member)
        clf.lexical = None
        member_probs.append({k: clf.predict(v["text"].tolist()).probabilities for k, v in sets.items()})
    member_mb = [fine_tune_bytes(member) / 1e6 for member in members]

    subsets = [
        subset
        for size in range(1, len(members) + 1)
        for subset in itertools.combinations(range(len(members)), size)
    ]
    gold = validation["label"].tolist()
    rows = []
    for subset in tqdm(subsets, desc="blend and biases", unit="ensemble", disable=not progress):
        probs = {k: np.mean([member_probs[i][k] for i in subset], axis=0) for k in sets}
        score, weight, bias = _best_blend(
            _blend_choices(probs["validation"], lexical_probs["validation"], gold, seed)
        )
        blended = {k: weight * probs[k] + (1 - weight) * lexical_probs[k] for k in sets}
        row = {
            "members": [str(members[i]) for i in subset],
            "validation_macro_f1": score,
            "weight": weight,
            "test_macro_f1": classification_report(
                test["label"].tolist(), decide(blended["test"], bias, LABELS), LABELS
            )["macro_f1"],
            "size_mb": round(sum(member_mb[i] for i in subset) + (lexical_mb if weight < 1 else 0), 1),
        }
        if sst2_dev is not None:
            row["sst2_dev_binary_accuracy"] = binary_accuracy(
                blended["sst2_dev"], LABELS, sst2_dev["label"].tolist(), "positive", "negative"
            )
        rows.append(row)
    return sorted(rows, key=lambda r: -r["validation_macro_f1"])


def _blend_inputs(clf: TextClassifier, lexical, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The class probabilities ``(N, C)`` of ``clf``'s fine-tunes alone and of ``lexical`` on ``texts``, from
    which a blend weight is chosen; ``lexical`` is left set on ``clf``."""
    clf.lexical = None
    transformer = clf.predict(texts).probabilities
    clf.lexical = lexical
    return transformer, lexical_probabilities(lexical, texts, clf.labels)


def _summary(metrics: dict) -> dict:
    keep = {"test_macro_f1": metrics["test"]["macro_f1"], "test_accuracy": metrics["test"]["accuracy"]}
    keep["baseline_test_macro_f1"] = metrics["baseline_tfidf_logreg_test"]["macro_f1"]
    if "sst2_dev_binary_accuracy" in metrics:
        keep["sst2_dev_binary_accuracy"] = metrics["sst2_dev_binary_accuracy"]
    return keep


def write_card(
    out_dir: Path, name: str, config: TrainingConfig, metrics: dict, source: str, command: str
) -> None:
    """Write ``MODEL_CARD.md`` (template ``nlp/templates/sentiment_card.md.j2``: one fine-tune, or an
    ensemble when ``metrics["members"]`` lists its members) and ``metrics.json`` beside the artifact.

    Raises:
        KeyError, jinja2.UndefinedError: ``metrics`` lacks a figure the card shows.
    """
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    members = metrics.get("members") or []
    single = None if members else base_model(config.base_model)
    card = render_card(
        "sentiment_card.md.j2",
        name=name,
        config=config,
        metrics=metrics,
        test=metrics["test"],
        alone=metrics["transformer_only_test"],
        baseline=metrics["baseline_tfidf_logreg_test"],
        members=members,
        origins="; ".join(base_model(b).origin for b in dict.fromkeys(m["base_model"] for m in members)),
        origin=single.origin if single else None,
        lora_targets=single.lora_targets if single else (),
        blend_search=json.dumps(metrics["blend_search_validation"]),
        f1_per_class=json.dumps(metrics["test"]["f1_per_class"]),
        bootstrap=BIAS_BOOTSTRAP,
        source=source,
        command=command,
        zip=zip,
    )
    (out_dir / "MODEL_CARD.md").write_text(card)
