"""Loaders for the shared review datasets, as ``(text, label)`` frames with a fixed, reproducible split.

Sentiment labels follow the issue: ratings 1-2 negative, 3 neutral, 4-5 positive. Review text is the title
and the body joined by ". ". The clothing-review split is decided per row by a hash of its original row
index, so it does not depend on row order, pandas version or which rows other filters drop: about 15 %
test (never trained or tuned on), 10 % validation (early choice of thresholds), 75 % train.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from nlp.artifacts.paths import nlp_settings

SENTIMENT_LABELS = ["negative", "neutral", "positive"]
SPLITS = ("train", "validation", "test")


def rating_to_sentiment(rating: float) -> str:
    """Map a 1-5 star rating to ``negative`` (1-2), ``neutral`` (3) or ``positive`` (4-5)."""
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def soft_sentiment_target(
    label: str,
    rating: float,
    smoothing: float,
    recommended: float = float("nan"),
    recommend_smoothing: float = 0.0,
) -> list[float]:
    """Target probabilities over :data:`SENTIMENT_LABELS` for a review with a 1-5 star ``rating``.

    A 2- or 4-star review moves ``smoothing`` (0-1) of its mass from its class to neutral; 1, 3 and 5 stars
    and rows without a rating (NaN, e.g. SST-2 sentences) stay one-hot on ``label``. These are ordinal soft
    labels in the spirit of SORD (Diaz & Marathe 2019, "Soft Labels for Ordinal Regression", CVPR): the
    model learns that 2 and 4 stars lie nearer neutral than 1 and 5, which the hard 3-class labels hide.

    ``recommended`` (1 / 0, NaN when unknown) is the reviewer's own "would recommend" flag, which splits a
    star level further: a 3-star review moves ``recommend_smoothing`` of its mass towards the side the flag
    leans to (positive if recommended, else negative), and a 2-star review that recommends or a 4-star one
    that does not moves ``recommend_smoothing`` more to neutral. Labels are unchanged; only the targets say
    where on the finer scale a review lies.
    """
    target = [float(label == name) for name in SENTIMENT_LABELS]
    own, neutral = SENTIMENT_LABELS.index(label), SENTIMENT_LABELS.index("neutral")
    if rating in (2, 4):
        disagrees = (rating == 2 and recommended == 1) or (rating == 4 and recommended == 0)
        shift = smoothing + (recommend_smoothing if disagrees else 0.0)
        target[own] -= shift
        target[neutral] += shift
    elif rating == 3 and recommended in (0, 1):
        target[neutral] -= recommend_smoothing
        target[SENTIMENT_LABELS.index("positive" if recommended else "negative")] += recommend_smoothing
    return target


def split_of(key: object, salt: str = "reviewpulse") -> str:
    """Stable split for a row key: ``test`` (15 %), ``validation`` (10 %) or ``train`` (75 %)."""
    bucket = int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest(), 16) % 100
    return "test" if bucket < 15 else "validation" if bucket < 25 else "train"


def join_title(title: pd.Series, body: pd.Series) -> pd.Series:
    """Review text as the models are trained on it: ``title + ". " + body`` (either may be missing)."""
    title = title.fillna("").astype(str).str.strip()
    body = body.fillna("").astype(str).str.strip()
    joined = title.where(title == "", title + ". ") + body
    return joined.str.strip()


def _require(datasets_dir: Path | None, *parts: str) -> Path:
    """``datasets_dir / parts`` (default ``REVIEWPULSE_DATASETS_DIR``). Raises FileNotFoundError if absent."""
    path = (datasets_dir or nlp_settings().datasets_dir).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: set REVIEWPULSE_DATASETS_DIR or pass --data PATH")
    return path


def clothing_reviews(datasets_dir: Path | None = None) -> pd.DataFrame:
    """Women's e-commerce clothing reviews: columns ``id, text, label, split, rating, recommended, product_id,
    category`` (``recommended`` is the reviewer's 1 / 0 "would recommend" flag).

    Rows without any text are dropped (about 3 %).
    """
    raw = pd.read_csv(_require(datasets_dir, "womens_clothing_reviews", "womens_clothing_reviews.csv"))
    raw = raw.rename(columns={raw.columns[0]: "row"})
    frame = pd.DataFrame(
        {
            "id": raw["row"].astype(int),
            "text": join_title(raw["Title"], raw["Review Text"]),
            "rating": raw["Rating"].astype(int),
            "recommended": raw["Recommended IND"].astype(float),
            "product_id": raw["Clothing ID"].astype(str),
            "category": raw["Class Name"].fillna("").astype(str),
        }
    )
    frame = frame[frame["text"] != ""].reset_index(drop=True)
    frame["label"] = frame["rating"].map(rating_to_sentiment)
    frame["split"] = frame["id"].map(split_of)
    return frame


def fine_food_reviews(datasets_dir: Path | None = None) -> pd.DataFrame:
    """Amazon fine-food sample: columns ``id, text, label, rating, product_id``; the two unscored rows dropped."""
    raw = pd.read_csv(_require(datasets_dir, "amazon_fine_food_sample", "Reviews_first5003.csv"))
    raw = raw.dropna(subset=["Score"])
    frame = pd.DataFrame(
        {
            "id": raw["Id"].astype(int),
            "text": join_title(raw["Summary"], raw["Text"]),
            "rating": raw["Score"].astype(int),
            "product_id": raw["ProductId"].astype(str),
        }
    )
    frame = frame[frame["text"] != ""].reset_index(drop=True)
    frame["label"] = frame["rating"].map(rating_to_sentiment)
    return frame


def review_titles(datasets_dir: Path | None = None) -> pd.DataFrame:
    """Short customer texts with labels: the clothing reviews' titles and the fine-food reviews' summaries, each
    labelled by its review's stars (:func:`rating_to_sentiment`). Columns ``source`` (``clothing`` or ``food``),
    ``split`` (a clothing review's :func:`split_of`, ``"all"`` for food), ``text``, ``label``."""
    clothing = pd.read_csv(_require(datasets_dir, "womens_clothing_reviews", "womens_clothing_reviews.csv"))
    clothing = clothing.rename(columns={clothing.columns[0]: "row"}).dropna(subset=["Title"])
    food = pd.read_csv(_require(datasets_dir, "amazon_fine_food_sample", "Reviews_first5003.csv"))
    food = food.dropna(subset=["Summary", "Score"])
    return pd.concat(
        [
            pd.DataFrame({"source": "clothing", "split": clothing["row"].map(split_of),
                          "text": clothing["Title"].astype(str), "label": clothing["Rating"].map(rating_to_sentiment)}),
            pd.DataFrame({"source": "food", "split": "all", "text": food["Summary"].astype(str),
                          "label": food["Score"].map(rating_to_sentiment)}),
        ],
        ignore_index=True,
    )  # fmt: skip


def sst2(split: str = "train", datasets_dir: Path | None = None) -> pd.DataFrame:
    """SST-2 sentences (``split`` is ``train`` or ``dev``): columns ``text, label`` (negative / positive)."""
    name = {"train": "stsa.binary.train.txt", "dev": "stsa.binary.dev.txt"}[split]
    rows = []
    for line in _require(datasets_dir, "sst2", name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, text = line.split(" ", 1)
            rows.append((text.strip(), "positive" if label == "1" else "negative"))
    return pd.DataFrame(rows, columns=["text", "label"])


def bitext_support(datasets_dir: Path | None = None) -> pd.DataFrame:
    """Bitext customer-support requests: columns ``id, text, label, entity_type, entity_value, split``.

    ``label`` is one of 27 intents; the split is by a hash of the row number (:func:`split_of`).
    """
    raw = pd.read_csv(
        _require(datasets_dir, "bitext_customer_support", "bitext_customer_support_v337b968.csv"),
        keep_default_na=False,
    )
    frame = pd.DataFrame(
        {
            "id": range(len(raw)),
            "text": raw["instruction"].astype(str).str.strip(),
            "label": raw["intent"].astype(str),
            "entity_type": raw["entity_type"].astype(str),
            "entity_value": raw["entity_value"].astype(str),
        }
    )
    frame["split"] = frame["id"].map(split_of)
    return frame[frame["text"] != ""].reset_index(drop=True)


def banking77(split: str = "train", datasets_dir: Path | None = None) -> pd.DataFrame:
    """BANKING77 online-banking queries (official ``train`` / ``test`` split): columns ``text, label``."""
    raw = pd.read_csv(_require(datasets_dir, "banking77", f"{split}.csv"))
    return raw.rename(columns={"category": "label"})[["text", "label"]]


#: BANKING77 intents whose queries ask what one of the 27 support intents asks in any shop, under that
#: intent. The other 70 are about cards, top-ups, transfers and cash: banking, not shopping.
BANKING77_SUPPORT_INTENTS = {
    "request_refund": "get_refund",
    "Refund_not_showing_up": "track_refund",
    "terminate_account": "delete_account",
    "edit_personal_details": "edit_account",
    "passcode_forgotten": "recover_password",
    "transaction_charged_twice": "payment_issue",
    "declined_card_payment": "payment_issue",
}


def banking77_support(
    per_intent: int | None = None, seed: int = 13, datasets_dir: Path | None = None
) -> pd.DataFrame:
    """BANKING77 train queries of :data:`BANKING77_SUPPORT_INTENTS`, relabelled: columns ``text, label``.

    ``per_intent`` keeps at most that many queries per BANKING77 intent (a seeded sample), so real but
    banking-flavoured phrasing does not outweigh an intent's other data.
    """
    frame = banking77("train", datasets_dir)
    frame = frame[frame["label"].isin(list(BANKING77_SUPPORT_INTENTS))]
    if per_intent is not None:
        frame = frame.sample(frac=1.0, random_state=seed).groupby("label").head(per_intent)
    return frame.assign(label=frame["label"].map(BANKING77_SUPPORT_INTENTS)).reset_index(drop=True)


def review_corpus(datasets_dir: Path | None = None) -> list[str]:
    """All review texts (clothing and fine food) for unsupervised training (Word2Vec)."""
    return [*clothing_reviews(datasets_dir)["text"], *fine_food_reviews(datasets_dir)["text"]]
