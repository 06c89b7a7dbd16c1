"""The stored reviews' topics: re-tagging under a new topics version, and per-topic sentiment and examples."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from api.db.models import (
    SENTIMENTS,
    Review,
    ReviewAspect,
    ReviewTopic,
)
from nlp.analysis.topics import OUTLIER_ID, TopicModel

#: Representative reviews kept per topic by :func:`topic_stats`.
REPRESENTATIVES = 3


def retag_topics(session: Session, topic_of: Callable[[str], int], model: TopicModel, version: str) -> int:
    """Give every stored review's aspects the topics of ``model`` (topics ``version``), so reports, insights
    and the topic table read the new topics without analysing the reviews again.

    ``topic_of(term)`` is a term's topic id under ``model`` (as the analyzer assigns it). For every review:
    its aspects' ``topic``, its ``topics`` shares (:meth:`nlp.analysis.topics.TopicModel.score`) and the
    ``+topics-vN`` part of its ``model_version`` change, in the stored analysis and in the ``review_aspects``
    / ``review_topics`` rows. Flushes; the caller commits. Returns the number of reviews updated.
    """
    updated = 0
    ids = list(session.scalars(select(Review.id).order_by(Review.id)))
    for start in range(0, len(ids), 500):
        reviews = session.scalars(
            select(Review)
            .where(Review.id.in_(ids[start : start + 500]))
            .options(selectinload(Review.aspects), selectinload(Review.topics))
        ).all()
        for review in reviews:
            analysis = dict(review.analysis)
            aspects, topic_ids = [], []
            for aspect, row in zip(analysis.get("aspects", []), review.aspects, strict=True):
                topic_id = topic_of(row.term)
                topic_ids.append(topic_id)
                row.topic_id, row.topic_label = topic_id, model.label(topic_id)
                aspects.append({**aspect, "topic": {"id": topic_id, "label": row.topic_label}})
            shares = [asdict(t) for t in model.score([t for t in topic_ids if t != OUTLIER_ID])]
            version_tag = re.sub(r"\+topics-v[^+]*", f"+topics-v{version}", review.model_version)
            review.analysis = {**analysis, "aspects": aspects, "topics": shares, "model_version": version_tag}
            review.model_version = version_tag
            review.topics.clear()
        session.flush()  # the old review_topics rows go before new ones with the same keys come
        for review in reviews:
            review.topics.extend(
                ReviewTopic(topic_id=t["id"], label=t["label"], score=t["score"])
                for t in review.analysis["topics"]
            )
            updated += 1
        session.flush()
    return updated


def topic_stats(session: Session) -> dict[int, dict[str, Any]]:
    """Per topic id, over the stored reviews (BERTopic's ``get_topic_info()`` in spirit)::

        {topic_id: {"label": str,
                    "size": int,                  # reviews with aspect mentions in the topic
                    "sentiment": {"negative": n, "neutral": n, "positive": n},        # of those reviews
                    "mentions": int,              # aspect mentions in the topic
                    "aspect_sentiment": {"negative": n, "neutral": n, "positive": n}, # of those mentions
                    "representative": [{"review_id": int, "text": str, "score": float}, ...]}}

    ``representative`` holds up to 3 reviews with the topic's largest share of their aspect mentions,
    the more confident document sentiment first among equals. Topics are those of ``review_topics``
    (the outlier topic -1 is never a review topic).
    """
    stats: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(ReviewTopic.topic_id, func.max(ReviewTopic.label), Review.sentiment, func.count())
        .join(Review, Review.id == ReviewTopic.review_id)
        .group_by(ReviewTopic.topic_id, Review.sentiment)
    ).tuples()
    for topic_id, label, sentiment, n in rows:
        entry = stats.setdefault(topic_id, _topic_entry(label))
        entry["label"] = max(entry["label"], label or "")
        entry["sentiment"][sentiment] = entry["sentiment"].get(sentiment, 0) + n
        entry["size"] += n
    mentions = session.execute(
        select(ReviewAspect.topic_id, ReviewAspect.sentiment, func.count())
        .where(ReviewAspect.topic_id.in_(list(stats)))
        .group_by(ReviewAspect.topic_id, ReviewAspect.sentiment)
    ).tuples()
    for topic_id, sentiment, n in mentions:
        stats[topic_id]["aspect_sentiment"][sentiment] = (
            stats[topic_id]["aspect_sentiment"].get(sentiment, 0) + n
        )
        stats[topic_id]["mentions"] += n

    scores = (Review.score_negative, Review.score_neutral, Review.score_positive)
    postgres = session.get_bind().dialect.name == "postgresql"
    confidence: ColumnElement[float] = func.greatest(*scores) if postgres else func.max(*scores)
    rank = (
        func.row_number()
        .over(
            partition_by=ReviewTopic.topic_id,
            order_by=(ReviewTopic.score.desc(), confidence.desc(), Review.id),
        )
        .label("rank")
    )
    ranked = (
        select(ReviewTopic.topic_id, Review.id, Review.text, ReviewTopic.score, rank)
        .join(Review, Review.id == ReviewTopic.review_id)
        .subquery()
    )
    top = session.execute(
        select(ranked.c.topic_id, ranked.c.id, ranked.c.text, ranked.c.score)
        .where(ranked.c.rank <= REPRESENTATIVES)
        .order_by(ranked.c.topic_id, ranked.c.rank)
    ).tuples()
    for topic_id, review_id, text, score in top:
        stats[topic_id]["representative"].append({"review_id": review_id, "text": text, "score": score})
    return dict(sorted(stats.items()))


def _topic_entry(label: str | None) -> dict[str, Any]:
    zero = dict.fromkeys(SENTIMENTS, 0)
    return {
        "label": label or "",
        "size": 0,
        "sentiment": dict(zero),
        "mentions": 0,
        "aspect_sentiment": dict(zero),
        "representative": [],
    }
