"""Classification metrics and decision-threshold tuning (scikit-learn underneath)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def classification_report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix (rows gold, columns predicted)."""
    labels = list(labels)
    per_class = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        "f1_per_class": {label: round(float(f), 4) for label, f in zip(labels, per_class, strict=True)},
        "labels": labels,
        "confusion_matrix": confusion_matrix(gold, predicted, labels=labels).tolist(),
    }


def binary_accuracy(
    probs: np.ndarray, labels: Sequence[str], gold: Sequence[str], pos: str, neg: str
) -> float:
    """Accuracy of ``pos`` vs ``neg`` decided by comparing only those two class probabilities (SST-2 style)."""
    p, n = probs[:, labels.index(pos)], probs[:, labels.index(neg)]
    decided = np.where(p >= n, pos, neg)
    return round(float(np.mean(decided == np.asarray(gold))), 4)


def tune_decision_bias(
    probs: np.ndarray, gold: Sequence[str], labels: Sequence[str], grid: np.ndarray | None = None
) -> list[float]:
    """Per-class additive biases on log-probabilities that maximise macro-F1 on a validation split.

    The first class's bias is fixed at 0 (only differences matter); the others are searched on ``grid``
    (default -2.0 .. 2.0 in steps of 0.1). Returns one bias per class.
    """
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2) if grid is None else grid
    logp = np.log(np.clip(probs, 1e-12, None))
    gold_idx = np.array([labels.index(g) for g in gold])
    best, best_bias = -1.0, [0.0] * len(labels)
    for rest in itertools.product(grid, repeat=len(labels) - 1):
        bias = np.array([0.0, *rest])
        picks = np.argmax(logp + bias, axis=1)
        score = f1_score(gold_idx, picks, labels=range(len(labels)), average="macro", zero_division=0)
        if score > best + 1e-9:
            best, best_bias = score, [float(b) for b in bias]
    return best_bias
