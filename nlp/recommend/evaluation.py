"""Offline evaluation of product suggestions (``reviewpulse evaluate recommend``).

**Collaborative, on the UCI Online Retail transactions** (Chen, Sain & Guo 2012; see the dataset's
``SOURCE.txt``): :func:`clean_retail` drops cancellations (``InvoiceNo`` starting with ``C``), rows with
quantity or unit price <= 0, rows without a customer, and non-product stock codes (anything that is not five
digits with an optional letter suffix: ``POST``, ``DOT``, ``M``, ``BANK CHARGES``, ``AMAZONFEE``, ``gift_*``
vouchers, ...). :func:`leave_last_invoice_out` holds out each customer's last invoice (customers with at
least 3 invoices); the models are fitted on everything else. Each method suggests 10 products the customer
has not bought before; the target is the held-out invoice's products that are new to the customer
(customers whose last invoice has none are skipped, and counted).

Metrics (binary relevance): hit rate@k (share of customers with at least one target in the top k), NDCG@k
(Järvelin & Kekäläinen 2002, "Cumulated gain-based evaluation of IR techniques", ACM TOIS 20(4):422-446;
``DCG = sum rel_i / log2(i + 1)`` over ranks ``i = 1..k``, divided by the ideal DCG of
``min(|target|, k)`` hits) and catalogue coverage (share of the training items suggested to anyone).

**Review-aware, on the women's clothing reviews**: :func:`aspect_ranking_check`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nlp.recommend.recommender import (
    ALSModel,
    ContentIndex,
    Interactions,
    ItemKNN,
    QualityModel,
    ReviewStats,
    top_k,
)

#: A product stock code in the UCI Online Retail data: five digits, optionally letters (``85123A``).
PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]*$")


def clean_retail(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The purchase lines of ``frame`` (UCI Online Retail columns) and how many rows each rule removed."""
    counts = {"rows": len(frame)}
    steps: list[tuple[str, Callable[[pd.DataFrame], pd.Series]]] = [
        ("cancellations", lambda f: f["InvoiceNo"].astype(str).str.startswith("C")),
        ("no_customer", lambda f: f["CustomerID"].isna()),
        ("quantity_or_price_not_positive", lambda f: (f["Quantity"] <= 0) | (f["UnitPrice"] <= 0)),
        ("non_product_code", lambda f: ~f["StockCode"].astype(str).str.match(PRODUCT_CODE)),
    ]
    for name, rule in steps:
        drop = rule(frame)
        counts[name] = int(drop.sum())
        frame = frame[~drop]
    counts["kept"] = len(frame)
    out = frame.assign(
        CustomerID=frame["CustomerID"].astype("int64").astype(str),
        StockCode=frame["StockCode"].astype(str).str.upper(),
        InvoiceNo=frame["InvoiceNo"].astype(str),
    )
    return out, counts


def read_retail(path: str) -> pd.DataFrame:
    """The transactions file (CSV, ``.csv.gz`` or Parquet) with the columns the evaluation uses."""
    columns = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    if path.lower().endswith(".parquet"):
        frame = pd.read_parquet(path, columns=columns)
    else:
        frame = pd.read_csv(path, usecols=columns, dtype={"InvoiceNo": str, "StockCode": str})
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    return frame


@dataclass
class Split:
    """Training triples ``(user, item, quantity)`` and, per evaluated user, the held-out new items."""

    train: list[tuple[str, str, float]]
    targets: dict[str, set[str]]
    skipped_no_new_items: int


def leave_last_invoice_out(lines: pd.DataFrame, min_invoices: int = 3) -> Split:
    """Hold out the last invoice (by date, then number) of every customer with ``min_invoices`` or more."""
    invoices = lines.groupby(["CustomerID", "InvoiceNo"], sort=False)["InvoiceDate"].min().reset_index()
    invoices = invoices.sort_values(["CustomerID", "InvoiceDate", "InvoiceNo"])
    n_invoices = invoices.groupby("CustomerID")["InvoiceNo"].transform("size")
    last = invoices[n_invoices >= min_invoices].groupby("CustomerID").tail(1)
    held = lines.set_index(["CustomerID", "InvoiceNo"]).index.isin(
        pd.MultiIndex.from_frame(last[["CustomerID", "InvoiceNo"]])
    )
    train = lines[~held]
    test = lines[held]
    bought = train.groupby("CustomerID")["StockCode"].agg(set).to_dict()
    targets, skipped = {}, 0
    for user, items in test.groupby("CustomerID")["StockCode"].agg(set).items():
        new = items - bought.get(user, set())
        if new:
            targets[str(user)] = new
        else:
            skipped += 1
    triples = list(zip(train["CustomerID"], train["StockCode"], train["Quantity"].astype(float), strict=True))
    return Split(triples, targets, skipped)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """NDCG@k with binary relevance (Järvelin & Kekäläinen 2002) of one ranking (best first) in 0..1.

    ``implicit.evaluation.ranking_metrics_at_k`` (implicit 0.7, ``evaluation.pyx``) has the same gains,
    discounts and ideal DCG (``min(|relevant|, k)`` hits), but it reads the held-out items as a ``users x
    items`` matrix over the training catalogue and ranks with an implicit model: a held-out product nobody
    bought in training drops out of its ideal DCG, a customer whose held-out products are all such is not
    counted, and popularity, Pearson, the blend and the content methods are not implicit models. The card
    counts every held-out new product, so this one is kept; ``tests/unit/test_recommend.py`` checks that
    the two agree when every held-out product is in the catalogue. implicit has no hit rate.
    """
    dcg = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def evaluate_rankings(
    rankings: Mapping[str, Sequence[str]], targets: Mapping[str, set[str]], n_items: int, k: int = 10
) -> dict[str, float]:
    """Hit rate@k, NDCG@k and catalogue coverage of ``rankings`` (user -> items, best first)."""
    users = list(targets)
    hits = [bool(set(rankings.get(u, [])[:k]) & targets[u]) for u in users]
    ndcg = [ndcg_at_k(list(rankings.get(u, [])), targets[u], k) for u in users]
    shown = {i for u in users for i in rankings.get(u, [])[:k]}
    return {
        f"hit_rate@{k}": round(float(np.mean(hits)) if users else 0.0, 4),
        f"ndcg@{k}": round(float(np.mean(ndcg)) if users else 0.0, 4),
        "coverage": round(len(shown) / n_items if n_items else 0.0, 4),
    }


def evaluate_collaborative(
    split: Split,
    k: int = 10,
    progress: bool = True,
    extra: Mapping[str, Callable[[Interactions], Callable[[int, np.ndarray], np.ndarray]]] | None = None,
) -> dict[str, dict[str, float]]:
    """Popularity, item-kNN (cosine, Pearson), ALS and a blend of item-kNN and ALS, in one run.

    ``extra`` adds methods: a name -> ``fit(interactions)`` returning ``score(user_row, history)``.
    Returns ``{method: {"hit_rate@k", "ndcg@k", "coverage"}}``.
    """
    data = Interactions.from_triples(split.train)
    popularity = data.buyers().astype(np.float64)
    cosine = ItemKNN("cosine").fit(data)
    pearson = ItemKNN("pearson").fit(data)
    als = ALSModel().fit(data)

    def blend(user: int, history: np.ndarray) -> np.ndarray:
        a, b = cosine.scores(history), als.scores(user, history)
        return _unit(a) + _unit(b)

    scorers: dict[str, Callable[[int, np.ndarray], np.ndarray]] = {
        "popularity": lambda u, h: _seen_out(popularity, h),
        "item_knn_cosine": lambda u, h: cosine.scores(h),
        "item_knn_pearson": lambda u, h: pearson.scores(h),
        "als": als.scores,
        "blend_knn_als": blend,
    }
    for name, fit in (extra or {}).items():
        scorers[name] = fit(data)
    users = [u for u in split.targets if u in data.user_index]
    rankings: dict[str, dict[str, list[str]]] = {name: {} for name in scorers}
    with tqdm(total=len(users) * len(scorers), desc="evaluate", unit="user", disable=not progress) as bar:
        for name, scorer in scorers.items():
            bar.set_postfix_str(name)
            for user in users:
                row = data.user_index[user]
                history = data.history(user)
                rankings[name][user] = [data.items[i] for i in top_k(scorer(row, history), k)]
                bar.update()
    targets = {u: split.targets[u] for u in users}
    return {name: evaluate_rankings(r, targets, len(data.items), k) for name, r in rankings.items()}


def content_method(
    texts: Mapping[str, str], encode: Callable[[list[str]], np.ndarray]
) -> Callable[[Interactions], Callable[[int, np.ndarray], np.ndarray]]:
    """An ``extra`` method for :func:`evaluate_collaborative`: content-based kNN, scoring each item by the
    summed cosine similarity of its text embedding (``texts``: product id -> name) to the user's history."""

    def fit(data: Interactions) -> Callable[[int, np.ndarray], np.ndarray]:
        vectors = ContentIndex([texts.get(item, "") for item in data.items], encode).vectors

        def score(user: int, history: np.ndarray) -> np.ndarray:
            return _seen_out((vectors @ vectors[history].sum(axis=0)).astype(np.float64), history)

        return score

    return fit


def _seen_out(scores: np.ndarray, history: np.ndarray) -> np.ndarray:
    out = scores.copy()
    out[history] = -np.inf
    return out


def _unit(scores: np.ndarray) -> np.ndarray:
    """Scores rescaled to 0..1 over their finite values (-inf stays)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return scores
    low, high = scores[finite].min(), scores[finite].max()
    out = np.full_like(scores, -np.inf, dtype=np.float64)
    out[finite] = (scores[finite] - low) / (high - low) if high > low else 1.0
    return out


# --------------------------------------------------------------------------------- review-aware check


def aspect_ranking_check(
    mentions: pd.DataFrame, categories: Mapping[str, str], aspects: Sequence[str], k: int = 10, seed: int = 13
) -> list[dict]:
    """Does ranking by smoothed aspect sentiment surface products whose reviews praise that aspect?

    ``mentions`` has one row per aspect mention: ``review_id``, ``product_id``, ``aspect``, ``positive``
    (bool). Reviews are split in two halves at random (``seed``); products are ranked on half A by
    :meth:`nlp.recommend.recommender.QualityModel.aspect_score` within each category, and the check measures on half B
    (so a product is not judged by the reviews that ranked it): the share of positive mentions of the aspect
    among the top ``k`` products' mentions against the whole category's share. Reported for the category
    with the most mentions of each aspect.
    """
    rng = np.random.default_rng(seed)
    review_ids = mentions["review_id"].unique()
    half_a = set(review_ids[rng.random(len(review_ids)) < 0.5].tolist())
    in_a = mentions["review_id"].isin(half_a)
    rank_half, measure_half = mentions[in_a], mentions[~in_a]
    stats: dict[str, dict[str, tuple[int, int]]] = {}
    for (product, aspect), group in rank_half.groupby(["product_id", "aspect"]):
        stats.setdefault(str(product), {})[str(aspect)] = (int(group["positive"].sum()), len(group))
    quality = QualityModel({p: ReviewStats(reviews=1, aspects=a) for p, a in stats.items()})
    out = []
    for aspect in aspects:
        measured = measure_half[measure_half["aspect"] == aspect].assign(
            category=lambda f: f["product_id"].map(categories)
        )
        if measured.empty:
            continue
        category = str(measured["category"].value_counts().idxmax())
        in_category = measured[measured["category"] == category]
        products = [p for p, c in categories.items() if c == category]
        scored = [(quality.aspect_score(p, aspect), p) for p in products]
        ranked = [p for s, p in sorted((s, p) for s, p in scored if s is not None)[::-1]][:k]
        top = in_category[in_category["product_id"].isin(ranked)]
        out.append(
            {
                "aspect": aspect,
                "category": category,
                "top_k_positive_share": round(float(top["positive"].mean()), 4) if len(top) else None,
                "top_k_mentions": len(top),
                "category_positive_share": round(float(in_category["positive"].mean()), 4),
                "category_mentions": len(in_category),
                "ranked_products": len(ranked),
            }
        )
    return out
