"""The shared datasets as nlp.training.datasets reads them: columns, sizes, labels and splits."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp.training.datasets import (
    SENTIMENT_LABELS,
    SPLITS,
    clothing_reviews,
    fine_food_reviews,
    rating_to_sentiment,
    split_of,
    sst2,
)

needs_clothing = pytest.mark.datasets("womens_clothing_reviews")
needs_fine_food = pytest.mark.datasets("amazon_fine_food_sample")
needs_sst2 = pytest.mark.datasets("sst2")


@pytest.fixture(scope="module")
def clothing() -> pd.DataFrame:
    return clothing_reviews()


@needs_clothing
def test_clothing_columns(clothing: pd.DataFrame) -> None:
    assert set(clothing.columns) == {
        "id", "text", "label", "split", "rating", "recommended", "product_id", "category"
    }  # fmt: skip


@needs_clothing
def test_clothing_content(clothing: pd.DataFrame) -> None:
    assert 19000 < len(clothing) < 20486  # 20486 rows in the file, about 3 % without any text
    assert (clothing["text"].str.strip() != "").all()
    assert clothing["text"].notna().all()
    assert set(clothing["label"]) == set(SENTIMENT_LABELS)
    assert set(clothing["split"]) == set(SPLITS)
    assert clothing["id"].is_unique
    assert clothing["rating"].between(1, 5).all()
    assert (clothing["label"] == clothing["rating"].map(rating_to_sentiment)).all()
    assert (clothing["split"] == clothing["id"].map(split_of)).all()
    assert set(clothing["recommended"]) == {0.0, 1.0}


@needs_fine_food
def test_fine_food() -> None:
    frame = fine_food_reviews()
    assert {"id", "text", "label", "rating", "product_id"} <= set(frame.columns)
    assert 4900 < len(frame) <= 5001
    assert frame["rating"].notna().all()
    assert (frame["text"] != "").all()
    assert set(frame["label"]) <= set(SENTIMENT_LABELS)


@needs_sst2
def test_sst2_dev() -> None:
    frame = sst2("dev")
    assert len(frame) == 872
    assert list(frame.columns) == ["text", "label"]
    assert set(frame["label"]) == {"negative", "positive"}
    assert (frame["text"] != "").all()
