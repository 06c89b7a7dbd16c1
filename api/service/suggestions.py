"""The recommender of the running service: built from the store once, cached, rebuilt when data change.

Fitting (item-kNN, ALS, catalogue embeddings) is the expensive part, so requests share one
:class:`nlp.recommend.recommender.Recommender`; :meth:`SuggestionService.get` compares :func:`api.store.data_version`
(counts and highest ids of interactions, products and reviews; one cheap query each) with the version it
was built from, and rebuilds under a lock when they differ or after ``max_age`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from sqlalchemy.orm import Session

from api import store
from nlp.recommend.recommender import Product, QualityModel, Recommender, ReviewStats, aspect_of_term


def quality_from_store(session: Session) -> QualityModel:
    """Review statistics per product, with aspect mentions grouped by :func:`nlp.recommend.recommender.aspect_of_term`."""
    stats = {}
    for product_id, summary in store.review_summaries(session).items():
        aspects: dict[str, list[int]] = {}
        for (term, sentiment), n in summary["terms"].items():
            aspect = aspect_of_term(term)
            if aspect is None:
                continue
            acc = aspects.setdefault(aspect, [0, 0])
            acc[0] += n if sentiment == "positive" else 0
            acc[1] += n
        stats[product_id] = ReviewStats(
            reviews=summary["reviews"],
            ratings=summary["ratings"],
            mean_rating=summary["mean_rating"],
            positive=summary["positive"],
            aspects={a: (p, t) for a, (p, t) in aspects.items()},
        )
    return QualityModel(stats)


def build_recommender(
    session: Session, encode: Callable[[list[str]], np.ndarray] | None = None
) -> Recommender:
    """A :class:`~nlp.recommend.recommender.Recommender` over everything in the store: catalogue, interactions,
    review statistics and review texts (``encode``: default MiniLM)."""
    products = [
        Product(
            p.product_id,
            p.name,
            p.category,
            p.description,
            None if p.price is None else float(p.price),
        )
        for p in store.list_products(session)
    ]
    return Recommender(
        products,
        store.iter_interactions(session),
        quality_from_store(session),
        encode=encode,
        review_texts=store.iter_review_texts(session),
    )


class SuggestionService:
    """Holds the fitted recommender; thread-safe (routes run in a thread pool)."""

    def __init__(
        self, max_age: float = 3600.0, encode: Callable[[list[str]], np.ndarray] | None = None
    ) -> None:
        self.max_age, self.encode = max_age, encode
        self.lock = threading.Lock()
        self.recommender: Recommender | None = None
        self.version: tuple[int, ...] | None = None
        self.built = 0.0

    def get(self, session: Session) -> Recommender:
        """The recommender for the store's current data (rebuilt if they changed)."""
        version = store.data_version(session)
        with self.lock:
            fresh = time.monotonic() - self.built < self.max_age
            if self.recommender is None or version != self.version or not fresh:
                self.recommender = build_recommender(session, self.encode)
                self.version, self.built = version, time.monotonic()
            return self.recommender
