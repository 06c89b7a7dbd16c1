"""Reviews and their analyses: idempotent ingest, lookups, filtered keyset pagination, and the stored reviews as
the report's records."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.db.base import utcnow
from api.db.models import (
    Product,
    Review,
    ReviewAspect,
    ReviewTopic,
)
from api.db.records import ReviewFields, clean, utc
from api.db.session import begin_write
from api.store.products import UnknownProductError, missing_products
from api.store.values import UPSERT_CHUNK
from nlp.analysis.aspects import clause_at
from nlp.analysis.text import with_title
from nlp.insights.report import AspectRecord, ReviewRecord

#: Source given to reviews whose input names none.
DEFAULT_SOURCE = "api"


#: The largest review id: ``reviews.id`` is an ``INTEGER``, 32 bits on PostgreSQL.
_MAX_ID = 2**31 - 1


class InvalidCursorError(ValueError):
    """A pagination cursor that this store did not hand out (or that was altered)."""


def add_reviews(
    session: Session,
    items: Sequence[ReviewFields | Mapping[str, Any]],
    analyses: Sequence[Mapping[str, Any]],
) -> list[tuple[Review, bool]]:
    """Store each review with its analysis; returns ``(review, created)`` per item, in input order.

    ``items`` are :class:`api.db.records.ReviewFields` (``ReviewIn`` from the API) or mappings of their
    fields, validated here by the same rules: ``product_id``, ``text`` and optional ``title``, ``rating``
    (an integer 1-5), ``created_at`` (datetime or ISO 8601 string from 1995 to tomorrow; naive means UTC;
    default now), ``author_id``, ``source`` (default ``"api"``) and ``external_id``. ``analyses[i]`` is
    ``ReviewAnalysis.to_dict()`` of ``items[i]["text"]``; its aspects and topics also fill
    ``review_aspects`` / ``review_topics``.

    Idempotent on ``(source, external_id)`` when ``external_id`` is given: a review already stored (by an
    earlier call, a concurrent one, or earlier in this batch) is not stored again and comes back as
    ``(existing, False)``, with the stored analysis. Each insert runs in a SAVEPOINT, so a concurrent
    duplicate that wins the race is caught (unique violation) and re-read instead of failing the batch.
    Rows are inserted in ``(source, external_id)`` order so that concurrent batches take their locks in the
    same order (no deadlocks on PostgreSQL).

    Raises:
        UnknownProductError: an item's product is not in the catalogue (nothing of the batch is stored).
        ValueError: ``items`` and ``analyses`` differ in length, or an item is malformed (a
            ``pydantic.ValidationError`` naming the field, or an empty text); nothing of the batch is stored.
    """
    if len(items) != len(analyses):
        raise ValueError(f"{len(items)} items but {len(analyses)} analyses")
    begin_write(session)
    rows = [_review_row(item) for item in items]
    missing = missing_products(session, {row["product_id"] for row in rows})
    if missing:
        raise UnknownProductError(sorted(missing)[0])

    results: list[tuple[Review, bool] | None] = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["external_id"] is None, _key(rows[i]), i))
    for i in order:
        row, analysis = rows[i], analyses[i]
        if row["external_id"] is not None:
            existing = _find(session, row["source"], row["external_id"])
            if existing is not None:
                results[i] = (existing, False)
                continue
        review = _review(row, analysis)
        try:
            with session.begin_nested():
                session.add(review)
                session.flush()
        except IntegrityError:
            existing = _find(session, row["source"], row["external_id"]) if row["external_id"] else None
            if existing is None:
                raise
            results[i] = (existing, False)
        else:
            results[i] = (review, True)
    return [r for r in results if r is not None]


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (row["source"], row["external_id"] or "")


def _review_row(item: ReviewFields | Mapping[str, Any]) -> dict[str, Any]:
    """The ``reviews`` row of one review: validated by :class:`api.db.records.ReviewFields` (unless it is one
    already), identifiers trimmed, dates in UTC (a date without an offset is UTC), and the defaults filled."""
    fields = item if isinstance(item, ReviewFields) else ReviewFields.model_validate(item)
    product_id = clean(fields.product_id)
    if product_id is None:
        raise ValueError("a review needs a product_id")
    if not fields.text.strip():
        raise ValueError("a review needs a non-empty text")
    created_at = utc(fields.created_at) if fields.created_at is not None else None
    return {
        "product_id": product_id,
        "text": fields.text,
        "title": clean(fields.title),
        "rating": fields.rating,
        "created_at": created_at or utcnow(),
        "author_id": clean(fields.author_id),
        "source": clean(fields.source) or DEFAULT_SOURCE,
        "external_id": clean(fields.external_id),
    }


def _review(row: dict[str, Any], analysis: Mapping[str, Any]) -> Review:
    sentiment = analysis["sentiment"]
    scores = sentiment.get("scores", {})
    review = Review(
        **row,
        sentiment=sentiment["label"],
        score_negative=float(scores.get("negative", 0.0)),
        score_neutral=float(scores.get("neutral", 0.0)),
        score_positive=float(scores.get("positive", 0.0)),
        model_version=str(analysis.get("model_version", "")),
        analysis=dict(analysis),
    )
    for aspect in analysis.get("aspects", []):
        topic = aspect.get("topic") or {}
        review.aspects.append(
            ReviewAspect(
                product_id=row["product_id"],
                text=aspect["text"],
                term=aspect.get("term") or _term(aspect["text"]),
                topic_id=int(topic.get("id", -1)),
                topic_label=str(topic.get("label", "")),
                category=aspect.get("category"),
                sentiment=aspect["sentiment"]["label"],
                opinions=[
                    o["text"] if isinstance(o, Mapping) else str(o) for o in aspect.get("opinions", [])
                ],
                offset=int(aspect.get("offset", 0)),
                length=int(aspect.get("length", len(aspect["text"]))),
            )
        )
    seen: set[int] = set()
    for topic in analysis.get("topics", []):
        if topic["id"] in seen:
            continue
        seen.add(topic["id"])
        review.topics.append(
            ReviewTopic(topic_id=int(topic["id"]), label=topic["label"], score=topic["score"])
        )
    return review


def _term(text: str) -> str:
    """Grouping key of an aspect whose analysis carries no lemmatised ``term``: lower-cased, spaces folded."""
    return " ".join(text.lower().split())


def _find(session: Session, source: str, external_id: str) -> Review | None:
    return session.scalars(
        select(Review).where(Review.source == source, Review.external_id == external_id)
    ).one_or_none()


def get_review(session: Session, review_id: int) -> Review | None:
    """The stored review ``review_id``, or None."""
    return session.get(Review, review_id)


def count_reviews(session: Session, product_id: str | None = None) -> int:
    """How many reviews are stored (of ``product_id`` when given)."""
    stmt = select(func.count()).select_from(Review)
    if product_id is not None:
        stmt = stmt.where(Review.product_id == product_id)
    return int(session.scalar(stmt) or 0)


def existing_external_ids(session: Session, source: str, external_ids: Iterable[str]) -> set[str]:
    """Those of ``external_ids`` already stored for ``source`` (lets a bulk load skip analysing them)."""
    wanted = sorted(set(external_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), UPSERT_CHUNK):
        part = wanted[start : start + UPSERT_CHUNK]
        stmt = select(Review.external_id).where(Review.source == source, Review.external_id.in_(part))
        found.update(x for x in session.scalars(stmt) if x is not None)
    return found


def list_reviews(
    session: Session,
    product_id: str | None = None,
    category: str | None = None,
    sentiment: str | None = None,
    topic_id: int | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Review], str | None]:
    """One page of reviews, newest first (``created_at``, then ``id``, descending), and the cursor of the
    next page (None on the last page).

    Filters combine with AND: ``product_id``; ``category`` (the product's, in any case: SQL ``lower()``,
    which on SQLite folds ASCII letters only); document ``sentiment``;
    ``topic_id`` (the review has aspect mentions in that topic); ``date_from`` / ``date_to`` on
    ``created_at``, both inclusive (a ``date`` covers its whole day, UTC). Pagination is keyset
    pagination: the opaque ``cursor`` encodes the last row's ``(created_at, id)``, so pages stay stable
    while reviews are being added (new ones appear on the first page, none is skipped or repeated).

    Raises:
        InvalidCursorError: ``cursor`` is not one this function returned.
        ValueError: ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    stmt = select(Review).where(*_review_filters(product_id, category, date_from, date_to))
    if category is not None:
        stmt = stmt.join(Product, Product.product_id == Review.product_id)
    if sentiment is not None:
        stmt = stmt.where(Review.sentiment == sentiment)
    if topic_id is not None:
        stmt = stmt.where(
            select(ReviewTopic.review_id)
            .where(ReviewTopic.review_id == Review.id, ReviewTopic.topic_id == topic_id)
            .exists()
        )
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Review.created_at < created_at, and_(Review.created_at == created_at, Review.id < last_id))
        )
    stmt = stmt.order_by(Review.created_at.desc(), Review.id.desc()).limit(limit + 1)
    page = list(session.scalars(stmt))
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, encode_cursor(page[-1].created_at, page[-1].id)


def _review_filters(
    product_id: str | None,
    category: str | None,
    date_from: date | datetime | None,
    date_to: date | datetime | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if product_id is not None:
        where.append(Review.product_id == product_id)
    if category is not None:  # any case, as in suggestions: "Dresses" finds a catalogue's "dresses"
        where.append(func.lower(Product.category) == category.lower())
    if date_from is not None:
        where.append(Review.created_at >= _bound(date_from))
    if isinstance(date_to, datetime):
        where.append(Review.created_at <= _bound(date_to))
    elif date_to is not None and date_to < date.max:  # the calendar's last day has no next day to stop at
        where.append(Review.created_at < _bound(date_to + timedelta(days=1)))
    return where


def _bound(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return utc(value)
    return datetime.combine(value, time(), tzinfo=UTC)


def encode_cursor(created_at: datetime, review_id: int) -> str:
    """The opaque cursor for "reviews after this one" (URL-safe base64 of JSON)."""
    payload = json.dumps([_bound(created_at).isoformat(), review_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """``(created_at, id)`` of a cursor made by :func:`encode_cursor`.

    Raises:
        InvalidCursorError: anything else.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, review_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if type(review_id) is not int or not 0 < review_id <= _MAX_ID or moment.tzinfo is None:
            raise ValueError
        moment = moment.astimezone(UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise InvalidCursorError(f"invalid cursor {cursor!r}") from None
    return moment, review_id


def _clause_of(analysis: Mapping[str, Any] | None, offset: int) -> str:
    """The clause (:func:`nlp.analysis.aspects.clause_at`) of the stored analysis's sentence holding character
    ``offset`` of the analysed text, or "" when no stored sentence holds it."""
    for sentence in (analysis or {}).get("sentences") or ():
        start = sentence.get("offset", 0)
        if start <= offset < start + sentence.get("length", 0):
            return clause_at(sentence.get("text", ""), offset - start)
    return ""


def analyzed_text(review: Review) -> str:
    """The text the models read of a stored review, which its analysis's offsets index: the title, ". " and the
    text when it has a title (:func:`nlp.analysis.text.with_title`)."""
    return (review.analysis or {}).get("text") or str(with_title(review.title, review.text))


def review_records(
    session: Session,
    product_id: str | None = None,
    category: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
) -> list[ReviewRecord]:
    """The stored reviews matching the filters (same meaning as in :func:`list_reviews`) as
    :class:`nlp.insights.report.ReviewRecord`, oldest first, with their aspects and topics and the product's
    category."""
    stmt = (
        select(Review, Product.category)
        .join(Product, Product.product_id == Review.product_id)
        .where(*_review_filters(product_id, category, date_from, date_to))
        .options(selectinload(Review.aspects), selectinload(Review.topics))
        .order_by(Review.created_at, Review.id)
    )
    return [
        ReviewRecord(
            review_id=review.id,
            product_id=review.product_id,
            category=product_category,
            rating=review.rating,
            created_at=review.created_at,
            text=analyzed_text(review),
            sentiment=review.sentiment,
            scores=review.scores,
            aspects=tuple(
                AspectRecord(
                    text=a.text,
                    term=a.term,
                    topic_id=a.topic_id,
                    topic_label=a.topic_label,
                    category=a.category,
                    sentiment=a.sentiment,
                    opinions=tuple(a.opinions),
                    quote=_clause_of(review.analysis, a.offset),
                )
                for a in review.aspects
            ),
            topics=tuple((t.topic_id, t.label, t.score) for t in review.topics),
            flags=tuple((review.analysis or {}).get("flags") or ()),
        )
        for review, product_category in session.execute(stmt).tuples()
    ]


def review_texts(session: Session, category: str | None = None) -> list[str]:
    """The texts of the stored reviews, oldest first; ``category``: only those of products in that category
    (any case, as in :func:`list_reviews`). For learning a shop's topics from its own reviews."""
    stmt = (
        select(Review.text)
        .join(Product, Product.product_id == Review.product_id)
        .where(*_review_filters(None, category, None, None))
        .order_by(Review.created_at, Review.id)
    )
    return list(session.scalars(stmt))


def iter_review_texts(session: Session) -> Iterator[tuple[str, str]]:
    """``(product_id, text)`` of every stored review, streamed (for the words a recommendation query can match)."""
    stmt = select(Review.product_id, Review.text).order_by(Review.id)
    yield from session.execute(stmt.execution_options(yield_per=1000)).tuples()
