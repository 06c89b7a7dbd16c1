"""Where document sentiment disagrees with the reviewer's own star rating, and one cheap remedy to try.

A 1-2 star review read as positive, or a 5-star one read as negative, is the sentiment model's plainest
error: sarcasm ("Love how it fell apart after one wash"), praise of one thing before the verdict on another
("The colour is gorgeous but it runs two sizes small"), or a rating that does not match its text.
:func:`rating_disagreement` measures how often it happens and returns the worst cases (the most confident
wrong readings), for the model card.

The remedy tried, without retraining, is a contrast cue: in reviews the clause after "but" / "however"
usually carries the verdict (the discourse-relation observation behind the ``but`` rules of VADER, Hutto &
Gilbert 2014, and of Polanyi & Zaenen's contextual valence shifters, 2006). :func:`contrast_tails` finds those
clauses; :func:`blend_contrast` mixes their reading into the document's with a weight chosen on the
validation split (``reviewpulse evaluate rating-disagreement``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nlp.analysis.classifier import decide
from nlp.training.metrics import classification_report

#: Markers of a contrast whose following clause carries the verdict.
_CONTRAST = re.compile(r"\b(?:but|however)\b[\s,]*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
#: Words a clause after a contrast marker needs to be read on its own ("but" alone says nothing).
MIN_TAIL_WORDS = 2
#: Quote length (characters) of a worst case in the report.
QUOTE_CHARS = 160


def contrast_tails(text: str) -> list[tuple[int, int]]:
    """Character ranges ``(start, end)`` of ``text`` from just after each "but" / "however" to the end of
    its sentence (the next ``.``, ``!`` or ``?``, or the text's end); ranges of fewer than
    :data:`MIN_TAIL_WORDS` words are left out. ``"Pretty, but it runs small. Sad."`` -> ``[(13, 26)]``."""
    tails = []
    for marker in _CONTRAST.finditer(text):
        start = marker.end()
        found = _SENTENCE_END.search(text, start)
        end = found.start() + 1 if found else len(text)
        if len(text[start:end].split()) >= MIN_TAIL_WORDS:
            tails.append((start, end))
    return tails


def blend_contrast(document: np.ndarray, tails: Sequence[np.ndarray], weight: float) -> np.ndarray:
    """The document's class probabilities ``(C,)`` with ``weight`` (0..1) of their mass moved to the mean of
    its contrast tails' probabilities (each ``(C,)``); unchanged when there are no tails."""
    if not len(tails):
        return document
    return (1 - weight) * document + weight * np.mean(np.stack(list(tails)), axis=0)


def rating_disagreement(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    labels: Sequence[str],
    bias: Sequence[float] | None,
    worst: int = 5,
) -> dict:
    """How often the reading of reviews contradicts their stars.

    Args:
        frame: reviews with columns ``text`` and ``rating`` (1-5), N rows.
        probabilities: ``(N, C)`` class probabilities of each review, columns in ``labels`` order (which must
            include ``negative`` and ``positive``).
        labels: the class names.
        bias: the model's decision biases (:func:`nlp.analysis.classifier.decide`); None for plain arg-max.
        worst: how many worst cases to return per direction.

    Returns:
        ``{"low_star_reviews", "positive_on_low_stars", "five_star_reviews", "negative_on_five_stars",
        "by_rating": {stars: {"reviews", "negative", "neutral", "positive"}}, "worst_low", "worst_five"}``:
        rates are shares (0..1, 4 decimals) of the reviews with that rating; each worst case is ``{"rating",
        "probability", "quote"}``, the most confident wrong readings first.
    """
    predicted = np.asarray(decide(probabilities, bias, labels))
    ratings = frame["rating"].to_numpy()
    low, five = ratings <= 2, ratings == 5
    positive, negative = list(labels).index("positive"), list(labels).index("negative")

    def share(mask: np.ndarray, label: str) -> float:
        return round(float(np.mean(predicted[mask] == label)), 4) if mask.any() else 0.0

    def cases(mask: np.ndarray, column: int) -> list[dict]:
        rows = np.flatnonzero(mask & (predicted == labels[column]))
        rows = rows[np.argsort(-probabilities[rows, column], kind="stable")][:worst]
        texts = frame["text"].to_numpy()
        return [
            {
                "rating": int(ratings[i]),
                "probability": round(float(probabilities[i, column]), 3),
                "quote": texts[i] if len(texts[i]) <= QUOTE_CHARS else texts[i][: QUOTE_CHARS - 3] + "...",
            }
            for i in rows
        ]

    return {
        "low_star_reviews": int(low.sum()),
        "positive_on_low_stars": share(low, "positive"),
        "five_star_reviews": int(five.sum()),
        "negative_on_five_stars": share(five, "negative"),
        "by_rating": {
            int(stars): {"reviews": int((ratings == stars).sum())}
            | {label: share(ratings == stars, label) for label in labels}
            for stars in sorted(set(ratings.tolist()))
        },
        "worst_low": cases(low, positive),
        "worst_five": cases(five, negative),
    }


def measure(
    model, reviews: pd.DataFrame, weights: Sequence[float] = (0.25, 0.5, 0.75), worst: int = 5
) -> dict:
    """Rating disagreement of a sentiment ``model`` (``predict_spans`` and ``config.decision_bias``, as
    :func:`nlp.analysis.span_classifier.load_sentiment_model` gives) on the clothing reviews' test split, alone and with
    the contrast cue (:func:`blend_contrast`) at the weight of ``weights`` that gives the best validation
    macro-F1.

    ``reviews``: :func:`nlp.training.datasets.clothing_reviews` (columns ``text, rating, label, split``). Each review
    is read once, with its contrast tails as spans of the same call.

    Returns:
        ``{"model_version", "with_contrast_tails": {split: share of reviews}, "weights": {weight: {split:
        macro-F1}}, "macro_f1": {split: macro-F1 of the model alone}, "chosen_weight", "model":
        rating_disagreement(...), "contrast": rating_disagreement(...) at the chosen weight}`` (test split).
    """
    labels, bias = list(model.labels), model.config.decision_bias
    readings: dict[str, tuple[pd.DataFrame, np.ndarray, list[list[np.ndarray]]]] = {}
    for split in ("validation", "test"):
        frame = reviews[reviews["split"] == split].reset_index(drop=True)
        texts = frame["text"].tolist()
        spans = [[(0, len(text)), *contrast_tails(text)] for text in texts]
        predictions = model.predict_spans(texts, spans)
        documents = np.stack([p.probabilities[0] for p in predictions])
        readings[split] = (frame, documents, [list(p.probabilities[1:]) for p in predictions])

    def macro_f1(split: str, weight: float) -> float:
        frame, documents, tails = readings[split]
        blended = np.stack([blend_contrast(d, t, weight) for d, t in zip(documents, tails, strict=True)])
        report = classification_report(frame["label"].tolist(), decide(blended, bias, labels), labels)
        return float(report["macro_f1"])

    scores = {w: {split: round(macro_f1(split, w), 4) for split in readings} for w in weights}
    chosen = max(weights, key=lambda w: scores[w]["validation"])
    frame, documents, tails = readings["test"]
    blended = np.stack([blend_contrast(d, t, chosen) for d, t in zip(documents, tails, strict=True)])
    return {
        "model_version": model.config.model_version,
        "with_contrast_tails": {
            s: round(float(np.mean([bool(t) for t in r[2]])), 4) for s, r in readings.items()
        },
        "macro_f1": {split: round(macro_f1(split, 0.0), 4) for split in readings},
        "weights": scores,
        "chosen_weight": chosen,
        "model": rating_disagreement(frame, documents, labels, bias, worst),
        "contrast": rating_disagreement(frame, blended, labels, bias, worst),
    }
