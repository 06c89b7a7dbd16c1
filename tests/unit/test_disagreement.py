"""Rating disagreement and the contrast cue (nlp.training.disagreement), on made-up readings: no model runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nlp.training.disagreement import blend_contrast, contrast_tails, rating_disagreement

LABELS = ["negative", "neutral", "positive"]


def test_contrast_tails_run_to_the_end_of_their_sentence():
    text = "Pretty, but it runs small. Sad. However, the fabric is nice! But ok"
    assert [text[a:b] for a, b in contrast_tails(text)] == ["it runs small.", "the fabric is nice!"]


def test_blend_moves_the_weight_to_the_tails_mean():
    document = np.array([0.1, 0.1, 0.8])
    tails = [np.array([0.9, 0.1, 0.0]), np.array([0.7, 0.1, 0.2])]
    assert np.allclose(blend_contrast(document, tails, 0.5), [0.45, 0.1, 0.45])
    assert blend_contrast(document, [], 0.5) is document


def test_rates_count_positive_low_stars_and_negative_five_stars_with_the_worst_first():
    frame = pd.DataFrame({"text": ["a", "b", "c", "d", "e"], "rating": [1, 2, 5, 5, 3]})
    probabilities = np.array(
        [[0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.7, 0.1, 0.2], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]
    )
    report = rating_disagreement(frame, probabilities, LABELS, None)
    assert (report["low_star_reviews"], report["positive_on_low_stars"]) == (2, 0.5)
    assert (report["five_star_reviews"], report["negative_on_five_stars"]) == (2, 0.5)
    assert report["worst_low"] == [{"rating": 1, "probability": 0.8, "quote": "a"}]
    assert report["worst_five"] == [{"rating": 5, "probability": 0.7, "quote": "c"}]
    assert report["by_rating"][3] == {"reviews": 1, "negative": 0.0, "neutral": 0.0, "positive": 1.0}
