"""Tests for nlp.training.datasets on small tables: rating mapping, the hash split, soft targets (the shared datasets themselves: ``tests/integration/test_datasets_shared.py``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp.training.datasets import (
    SENTIMENT_LABELS,
    SPLITS,
    clothing_reviews,
    rating_to_sentiment,
    soft_sentiment_target,
    split_of,
    sst2,
)


@pytest.mark.parametrize(
    ("rating", "label"),
    [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive"), (3.0, "neutral")],
)
def test_rating_to_sentiment(rating: float, label: str) -> None:
    assert rating_to_sentiment(rating) == label
    assert label in SENTIMENT_LABELS


@pytest.mark.parametrize(
    ("label", "rating", "target"),
    [
        ("negative", 1, [1.0, 0.0, 0.0]),
        ("negative", 2, [0.75, 0.25, 0.0]),
        ("neutral", 3, [0.0, 1.0, 0.0]),
        ("positive", 4.0, [0.0, 0.25, 0.75]),
        ("positive", 5, [0.0, 0.0, 1.0]),
        ("positive", float("nan"), [0.0, 0.0, 1.0]),  # an SST-2 sentence has no rating
    ],
)
def test_soft_sentiment_target(label: str, rating: float, target: list[float]) -> None:
    assert soft_sentiment_target(label, rating, 0.25) == target
    assert soft_sentiment_target(label, rating, 0.0) == [float(label == n) for n in SENTIMENT_LABELS]


NAN = float("nan")


@pytest.mark.parametrize(
    ("label", "rating", "recommended", "target"),
    [
        ("negative", 1, 1.0, [1.0, 0.0, 0.0]),  # 1 and 5 stars stay one-hot whatever the flag says
        ("negative", 2, 0.0, [0.75, 0.25, 0.0]),
        ("negative", 2, 1.0, [0.55, 0.45, 0.0]),  # recommends despite 2 stars: nearer neutral
        ("neutral", 3, 0.0, [0.2, 0.8, 0.0]),
        ("neutral", 3, 1.0, [0.0, 0.8, 0.2]),
        ("neutral", 3, NAN, [0.0, 1.0, 0.0]),  # fine-food reviews have no flag
        ("positive", 4, 0.0, [0.0, 0.45, 0.55]),  # does not recommend despite 4 stars
        ("positive", 4, 1.0, [0.0, 0.25, 0.75]),
        ("positive", 5, 0.0, [0.0, 0.0, 1.0]),
        ("positive", NAN, NAN, [0.0, 0.0, 1.0]),  # SST-2
    ],
)
def test_recommend_flag_moves_the_target(
    label: str, rating: float, recommended: float, target: list[float]
) -> None:
    got = soft_sentiment_target(label, rating, 0.25, recommended, 0.2)
    assert got == pytest.approx(target) and sum(got) == pytest.approx(1.0)
    # without recommend smoothing the flag changes nothing
    assert soft_sentiment_target(label, rating, 0.25, recommended) == soft_sentiment_target(
        label, rating, 0.25
    )


@pytest.mark.parametrize("key", [0, 1, 12345, "abc", "B001E4KFG0"])
def test_split_of_is_deterministic(key: object) -> None:
    assert split_of(key) == split_of(key)
    assert split_of(key) in SPLITS


@pytest.mark.parametrize(
    ("key", "split"),
    [(0, "validation"), (1, "test"), (2, "train"), (4, "validation"), (5, "test"), ("1", "test")],
)
def test_split_of_pinned_values(key: object, split: str) -> None:
    # Pinned so a change of hash, salt or thresholds (which would reshuffle the test set) is noticed.
    assert split_of(key) == split


def test_split_of_salt_matters() -> None:
    keys = range(200)
    assert [split_of(k) for k in keys] != [split_of(k, salt="other") for k in keys]


def test_split_shares() -> None:
    counts = Counter(split_of(k) for k in range(20000))
    assert set(counts) == set(SPLITS)
    shares = {name: counts[name] / 20000 for name in SPLITS}
    assert shares["train"] == pytest.approx(0.75, abs=0.02)
    assert shares["validation"] == pytest.approx(0.10, abs=0.02)
    assert shares["test"] == pytest.approx(0.15, abs=0.02)


def test_missing_dataset_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="REVIEWPULSE_DATASETS_DIR"):
        clothing_reviews(tmp_path)
    with pytest.raises(FileNotFoundError):
        sst2("dev", tmp_path)
