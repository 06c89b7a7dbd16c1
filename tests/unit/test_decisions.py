"""nlp.analysis.classifier's decisions: the tuned biases decide a document, not its sentences or clauses."""

from __future__ import annotations

import numpy as np

from nlp.analysis.classifier import decide, decide_spans

LABELS = ["negative", "neutral", "positive"]
BIAS = [0.0, -0.575, -0.575]  # sentiment v9's: negative favoured, as on skewed clothing reviews


def test_only_the_span_covering_the_whole_text_is_decided_with_the_bias() -> None:
    probs = np.array([[0.34, 0.09, 0.57]] * 3)  # "Shipping was quick.": positive 0.57, negative 0.34
    spans = [(0, 40), (0, 21), (22, 40)]
    assert decide(probs, BIAS, LABELS) == ["negative"] * 3
    assert decide_spans(probs, spans, 40, BIAS, LABELS) == ["negative", "positive", "positive"]
    assert decide_spans(probs, [[0, 40], (5, 9)], 40, BIAS, LABELS)[:1] == ["negative"]  # lists as spans too


def test_without_bias_every_span_takes_its_most_probable_class() -> None:
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    assert decide_spans(probs, [(0, 10), (0, 4)], 10, None, LABELS) == ["neutral", "negative"]
