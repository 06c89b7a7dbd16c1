"""Classification metrics and decision-threshold tuning (scikit-learn underneath)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from tqdm.auto import tqdm


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


#: Bootstrap resamples whose tuned biases are averaged in the recipes (bagging, Breiman 1996): a steadier
#: choice than one search on the validation split; models/sentiment/v2/MODEL_CARD.md gives what it measured.
BIAS_BOOTSTRAP = 20
#: Bias combinations scored at once (bounds memory to about this many times the number of rows).
_CHUNK = 1024


def tune_decision_bias(
    probs: np.ndarray,
    gold: Sequence[str],
    labels: Sequence[str],
    grid: np.ndarray | None = None,
    bootstrap: int = 0,
    seed: int = 13,
) -> list[float]:
    """Per-class additive biases on log-probabilities that maximise macro-F1 on a validation split.

    The first class's bias is fixed at 0 (only differences matter); the others are searched on ``grid``
    (default -2.0 .. 2.0 in steps of 0.1); among equal scores the first combination in grid order wins.
    With ``bootstrap`` > 0 the search runs on that many bootstrap resamples of the rows and the biases are
    averaged (bagging, Breiman 1996), which varies less with the particular validation rows than one search.
    Returns one bias per class.
    """
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2) if grid is None else grid
    logp = np.log(np.clip(probs, 1e-12, None))
    gold_idx = np.array([list(labels).index(g) for g in gold])
    candidates = np.array([[0.0, *rest] for rest in itertools.product(grid, repeat=len(labels) - 1)])
    if not bootstrap:
        return [float(b) for b in candidates[_best_bias(logp, gold_idx, candidates)]]
    rng = np.random.default_rng(seed)
    picks = [
        candidates[_best_bias(logp[rows], gold_idx[rows], candidates)]
        for rows in (rng.integers(0, len(gold_idx), len(gold_idx)) for _ in range(bootstrap))
    ]
    return [round(float(b), 4) for b in np.mean(picks, axis=0)]


def _best_bias(logp: np.ndarray, gold: np.ndarray, candidates: np.ndarray) -> int:
    """Index of the candidate bias row ``(B, C)`` with the highest macro-F1 (the first among equals)."""
    scores = []
    for start in range(0, len(candidates), _CHUNK):
        picks = np.argmax(logp[None] + candidates[start : start + _CHUNK, None, :], axis=2)  # (b, N)
        per_class = []
        for c in range(logp.shape[1]):
            true_pos = ((picks == c) & (gold == c)).sum(1)
            denominator = (picks == c).sum(1) + (gold == c).sum()  # 2TP + FP + FN
            per_class.append(np.where(denominator > 0, 2 * true_pos / np.maximum(denominator, 1), 0.0))
        scores.append(np.mean(per_class, axis=0))
    return int(np.argmax(np.concatenate(scores)))


def cross_validate_choices(
    transformer: np.ndarray,
    lexical: np.ndarray,
    gold: Sequence[str],
    labels: Sequence[str],
    weights: Sequence[float],
    repeats: int = 5,
    bootstrap: int = BIAS_BOOTSTRAP,
    seed: int = 13,
    progress: bool = False,
) -> list[dict]:
    """Repeated 2-fold cross-validation, inside a validation split, of the choices the recipes make on it.

    For each blend ``weight`` (transformer share; ``1 - weight`` to the lexical model) the rows are split in
    half ``repeats`` times; biases are tuned on one half, once by a single search and once bagged over
    ``bootstrap`` resamples (:func:`tune_decision_bias`), and macro-F1 is measured on the other half, then
    the halves swap. ``transformer`` and ``lexical`` are class probabilities ``(N, C)`` in ``labels`` order.

    Returns one dict per weight: ``{"weight", "single": [mean, sd], "bagged": [mean, sd]}`` of held-out
    macro-F1 over the ``2 * repeats`` folds, rounded to 4 places. ``progress`` shows a tqdm bar on stderr.
    """
    gold_arr = np.asarray(gold)
    rng = np.random.default_rng(seed)
    folds = []
    for _ in range(repeats):
        order = rng.permutation(len(gold_arr))
        half = len(order) // 2
        folds += [(order[:half], order[half:]), (order[half:], order[:half])]
    results = []
    for weight in tqdm(weights, desc="cross-validating choices", unit="weight", disable=not progress):
        blended = weight * transformer + (1 - weight) * lexical
        logp = np.log(np.clip(blended, 1e-12, None))
        scores: dict[str, list[float]] = {"single": [], "bagged": []}
        for fit, held in folds:
            for kind, resamples in (("single", 0), ("bagged", bootstrap)):
                bias = tune_decision_bias(
                    blended[fit], list(gold_arr[fit]), labels, bootstrap=resamples, seed=seed
                )
                picks = np.asarray(labels)[np.argmax(logp[held] + np.asarray(bias), axis=1)]
                report = classification_report(list(gold_arr[held]), list(picks), labels)
                scores[kind].append(report["macro_f1"])
        results.append(
            {"weight": float(weight)}
            | {kind: [round(float(np.mean(v)), 4), round(float(np.std(v)), 4)] for kind, v in scores.items()}
        )
    return results
