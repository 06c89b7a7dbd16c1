"""Tests for nlp.training.metrics: the classification report, SST-2 style binary accuracy and decision-bias tuning."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.training.metrics import (
    binary_accuracy,
    classification_report,
    cross_validate_choices,
    tune_decision_bias,
)

LABELS = ["negative", "neutral", "positive"]

# Hand-computed example (rows gold, columns predicted):
#             neg neu pos
#   negative [ 1,  1,  0]   F1 neg: P 1/2, R 1/2 -> 0.5
#   neutral  [ 0,  1,  0]   F1 neu: P 1/2, R 1   -> 0.6667
#   positive [ 1,  0,  2]   F1 pos: P 1,   R 2/3 -> 0.8
GOLD = ["negative", "negative", "neutral", "positive", "positive", "positive"]
PRED = ["negative", "neutral", "neutral", "positive", "positive", "negative"]


def test_classification_report_numbers() -> None:
    report = classification_report(GOLD, PRED, LABELS)
    assert report["n"] == 6
    assert report["accuracy"] == pytest.approx(0.6667)
    assert report["f1_per_class"] == {"negative": 0.5, "neutral": 0.6667, "positive": 0.8}
    assert report["macro_f1"] == pytest.approx(0.6556)
    assert report["labels"] == LABELS


def test_confusion_matrix_rows_are_gold() -> None:
    matrix = classification_report(GOLD, PRED, LABELS)["confusion_matrix"]
    assert matrix == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    # Row sums are the gold counts, column sums the predicted counts.
    assert [sum(row) for row in matrix] == [GOLD.count(label) for label in LABELS]
    assert [sum(col) for col in zip(*matrix, strict=True)] == [PRED.count(label) for label in LABELS]


def test_report_follows_label_order() -> None:
    labels = ["positive", "neutral", "negative"]
    report = classification_report(GOLD, PRED, labels)
    assert list(report["f1_per_class"]) == labels
    assert report["confusion_matrix"] == [[2, 0, 1], [0, 1, 0], [0, 1, 1]]


def test_report_is_json_serialisable() -> None:
    import json

    report = classification_report(GOLD, PRED, LABELS)
    assert json.loads(json.dumps(report)) == report


@pytest.mark.parametrize(
    ("gold", "pred", "accuracy", "macro_f1"),
    [
        (["positive"] * 3, ["positive"] * 3, 1.0, 1 / 3),  # absent classes score 0 without warnings
        (["negative", "positive"], ["positive", "negative"], 0.0, 0.0),
        (LABELS, LABELS, 1.0, 1.0),
    ],
)
def test_report_edge_cases(gold: list[str], pred: list[str], accuracy: float, macro_f1: float) -> None:
    report = classification_report(gold, pred, LABELS)
    assert report["accuracy"] == pytest.approx(accuracy)
    assert report["macro_f1"] == pytest.approx(macro_f1, abs=1e-4)


# Columns: negative, neutral, positive. Neutral is the arg-max of rows 0-2 and must be ignored.
BINARY_PROBS = np.array(
    [
        [0.1, 0.6, 0.3],  # gold positive -> positive (right)
        [0.3, 0.6, 0.1],  # gold negative -> negative (right)
        [0.2, 0.7, 0.1],  # gold positive -> negative (wrong)
        [0.7, 0.1, 0.2],  # gold negative -> negative (right)
    ]
)
BINARY_GOLD = ["positive", "negative", "positive", "negative"]


def test_binary_accuracy_ignores_neutral() -> None:
    assert binary_accuracy(BINARY_PROBS, LABELS, BINARY_GOLD, "positive", "negative") == 0.75


def test_binary_accuracy_column_order_from_labels() -> None:
    reversed_labels = LABELS[::-1]
    reversed_probs = BINARY_PROBS[:, ::-1]
    assert binary_accuracy(reversed_probs, reversed_labels, BINARY_GOLD, "positive", "negative") == 0.75


def test_binary_accuracy_tie_goes_to_positive() -> None:
    probs = np.array([[0.25, 0.5, 0.25]])
    assert binary_accuracy(probs, LABELS, ["positive"], "positive", "negative") == 1.0
    assert binary_accuracy(probs, LABELS, ["negative"], "positive", "negative") == 0.0


def _macro_f1(probs: np.ndarray, gold: list[str], labels: list[str], bias: list[float]) -> float:
    picks = np.argmax(np.log(probs) + np.asarray(bias), axis=1)
    return classification_report(gold, [labels[i] for i in picks], labels)["macro_f1"]


def _minority_problem(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """8 rows of the first class and 2 of every other; the first class always has the top probability.

    First-class rows: 0.9 for it, the rest shared. Minority rows: 0.6 for the first class, 0.3 for the
    gold one, the rest shared; so a bias between log(2) and log(0.9 / 0.1) on the others fixes them.
    """
    k = len(labels)
    rows, gold = [], []
    for target in range(k):
        for _ in range(8 if target == 0 else 2):
            if target == 0:
                p = np.full(k, 0.1 / (k - 1))
                p[0] = 0.9
            else:
                p = np.full(k, 0.1 / (k - 2)) if k > 2 else np.zeros(k)
                p[0], p[target] = (0.6, 0.3) if k > 2 else (0.7, 0.3)
            rows.append(p)
            gold.append(labels[target])
    return np.array(rows), gold


@pytest.mark.parametrize(
    ("labels", "grid"),
    [
        (["negative", "positive"], None),  # default grid (41 values)
        (LABELS, np.array([-1.0, 0.0, 1.0, 1.5, 2.0])),
    ],
)
def test_tune_decision_bias_fixes_minority(labels: list[str], grid: np.ndarray | None) -> None:
    probs, gold = _minority_problem(labels)
    zeros = [0.0] * len(labels)
    # Without a bias the arg-max never predicts anything but the first class.
    assert set(np.argmax(probs, axis=1)) == {0}
    assert set(gold) == set(labels)

    bias = tune_decision_bias(probs, gold, labels, grid=grid)
    assert len(bias) == len(labels)
    assert bias[0] == 0.0
    assert all(isinstance(b, float) for b in bias)
    assert _macro_f1(probs, gold, labels, bias) > _macro_f1(probs, gold, labels, zeros)
    assert _macro_f1(probs, gold, labels, bias) == pytest.approx(1.0)


def test_tune_decision_bias_values_come_from_grid() -> None:
    probs, gold = _minority_problem(LABELS)
    grid = np.array([-0.5, 0.5, 1.0, 1.5])
    bias = tune_decision_bias(probs, gold, LABELS, grid=grid)
    assert bias[0] == 0.0
    assert all(b in grid for b in bias[1:])


def test_bagged_decision_bias_is_reproducible_and_still_fixes_the_minority() -> None:
    probs, gold = _minority_problem(LABELS)
    probs, gold = np.repeat(probs, 5, axis=0), [g for g in gold for _ in range(5)]
    bagged = tune_decision_bias(probs, gold, LABELS, bootstrap=10, seed=3)
    assert bagged == tune_decision_bias(probs, gold, LABELS, bootstrap=10, seed=3)
    assert bagged[0] == 0.0 and all(-2.0 <= b <= 2.0 for b in bagged)
    assert _macro_f1(probs, gold, LABELS, bagged) == pytest.approx(1.0)


def test_cross_validated_choices_prefer_the_informative_model() -> None:
    rng = np.random.default_rng(0)
    gold_idx = rng.integers(0, 3, 300)
    gold = [LABELS[i] for i in gold_idx]
    informative = np.full((300, 3), 0.15)
    informative[np.arange(300), gold_idx] = 0.7
    noise = rng.dirichlet(np.ones(3), 300)
    results = cross_validate_choices(noise, informative, gold, LABELS, [1.0, 0.0], repeats=2, bootstrap=3)
    assert [r["weight"] for r in results] == [1.0, 0.0]
    by_weight = {r["weight"]: r for r in results}
    for kind in ("single", "bagged"):
        assert by_weight[0.0][kind] == [1.0, 0.0]  # the lexical side alone is always right
        assert by_weight[1.0][kind][0] < 0.5 and by_weight[1.0][kind][1] > 0  # noise: chance, varies by fold
    assert results == cross_validate_choices(
        noise, informative, gold, LABELS, [1.0, 0.0], repeats=2, bootstrap=3
    )
