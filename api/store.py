"""The review store: plain functions over a SQLAlchemy :class:`~sqlalchemy.orm.Session` (no web code).

Every function works inside the caller's transaction: it flushes but never commits, so a route or a CLI
command decides when a unit of work is done (``session.commit()``), and nothing is acknowledged before it
is durable. On SQLite, sessions start as write transactions by default (see :mod:`api.db.session`), so a
unit of work may read first and then write.

Example::

    with make_sessionmaker(make_engine(url))() as session:
        upsert_products(session, [{"product_id": "p1", "name": "Wool coat", "category": "Coats"}])
        [(review, created)] = add_reviews(session, [{"product_id": "p1", "text": "Warm!"}], [analysis])
        session.commit()
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core.security import check_role, generate_key, hash_key
from api.db.base import utcnow
from api.db.models import (
    SENTIMENTS,
    ApiKey,
    Interaction,
    Product,
    Review,
    ReviewAspect,
    ReviewTopic,
)
from api.db.records import ReviewFields
from api.db.session import begin_write
from nlp.aspects import clause_at
from nlp.reports import AspectRecord, ReviewRecord
from nlp.topics import OUTLIER_ID, TopicModel

#: Source given to reviews whose input names none.
DEFAULT_SOURCE = "api"
#: Representative reviews kept per topic by :func:`topic_stats`.
REPRESENTATIVES = 3
_UPSERT_CHUNK = 500
#: The largest review id: ``reviews.id`` is an ``INTEGER``, 32 bits on PostgreSQL.
_MAX_ID = 2**31 - 1
_PRODUCT_FIELDS = ("name", "category", "description", "price")


class UnknownProductError(LookupError):
    """A review names a product that is not in the catalogue (``product_id`` says which)."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"unknown product {product_id!r}: load it into the catalogue first")
        self.product_id = product_id


class InvalidCursorError(ValueError):
    """A pagination cursor that this store did not hand out (or that was altered)."""


# --------------------------------------------------------------------------------------------- products


def upsert_products(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update catalogue rows (``product_id``, ``name``, optional ``category``, ``description``,
    ``price``); returns how many rows were written. A later row with the same ``product_id`` wins; only the
    fields a row carries are updated (``created_at`` keeps the first load's time).

    Raises:
        ValueError: a row without ``product_id`` or ``name``, or with a price that is not a number >= 0.
    """
    begin_write(session)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    chunk: dict[str, dict[str, Any]] = {}
    written = 0

    def flush_chunk() -> None:
        # One statement per set of columns: an absent field must not overwrite what is stored.
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in chunk.values():
            by_fields[tuple(sorted(row))].append(row)
        for fields, values in by_fields.items():
            stmt = insert(Product).values(values)
            updates = {f: stmt.excluded[f] for f in fields if f in _PRODUCT_FIELDS}
            session.execute(stmt.on_conflict_do_update(index_elements=["product_id"], set_=updates))
        chunk.clear()

    for raw in rows:
        row = normalize_product(raw)
        chunk[row["product_id"]] = row
        written += 1
        if len(chunk) >= _UPSERT_CHUNK:
            flush_chunk()
    if chunk:
        flush_chunk()
    session.expire_all()  # bulk statements bypass the identity map
    return written


def normalize_product(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue row :func:`upsert_products` writes for ``raw``: strings stripped (blank means None),
    price as a 2-decimal ``Decimal``; only the optional fields ``raw`` carries.

    Raises:
        ValueError: no ``product_id`` or ``name``, or a price that is not a number >= 0.
    """
    product_id = _clean(raw.get("product_id"))
    name = _clean(raw.get("name"))
    if product_id is None:
        raise ValueError("a product needs a product_id")
    check_product_id(product_id)
    if name is None:
        raise ValueError(f"product {product_id!r} needs a name")
    row: dict[str, Any] = {"product_id": product_id, "name": name, "created_at": utcnow()}
    for key in ("category", "description"):
        if key in raw:
            row[key] = _clean(raw[key])
    if "price" in raw:
        row["price"] = _price(raw["price"], product_id)
    return row


def check_product_id(product_id: str) -> str:
    """``product_id`` if a URL path segment can carry it (``GET /v1/products/{product_id}``).

    Raises:
        ValueError: it holds a ``/`` (even encoded as ``%2F`` it would split the path) or is ``.`` or
            ``..`` (which clients resolve away as dot segments).
    """
    if "/" in product_id or product_id in (".", ".."):
        raise ValueError(f"product_id {product_id!r} cannot be part of a URL: no '/', and not '.' or '..'")
    return product_id


def _price(value: Any, product_id: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()) or value != value:  # None, "", NaN
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"product {product_id!r}: price {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"product {product_id!r}: price {value!r} must be a number >= 0")
    return price.quantize(Decimal("0.01"))


def _clean(value: Any) -> str | None:
    """A stripped string, or None for missing / blank / NaN values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def get_product(session: Session, product_id: str) -> Product | None:
    """The catalogue entry ``product_id``, or None."""
    return session.get(Product, product_id)


def missing_products(session: Session, product_ids: Iterable[str]) -> set[str]:
    """Those of ``product_ids`` that are not in the catalogue (to report per-item errors before ingest)."""
    wanted = set(product_ids)
    found: set[str] = set()
    ids = sorted(wanted)
    for start in range(0, len(ids), _UPSERT_CHUNK):
        part = ids[start : start + _UPSERT_CHUNK]
        found.update(session.scalars(select(Product.product_id).where(Product.product_id.in_(part))))
    return wanted - found


# ---------------------------------------------------------------------------------------------- reviews


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
    product_id = _clean(fields.product_id)
    if product_id is None:
        raise ValueError("a review needs a product_id")
    if not fields.text.strip():
        raise ValueError("a review needs a non-empty text")
    created_at = fields.created_at
    if created_at is not None:
        created_at = (
            created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
        )
    return {
        "product_id": product_id,
        "text": fields.text,
        "title": _clean(fields.title),
        "rating": fields.rating,
        "created_at": created_at or utcnow(),
        "author_id": _clean(fields.author_id),
        "source": _clean(fields.source) or DEFAULT_SOURCE,
        "external_id": _clean(fields.external_id),
    }


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"created_at {value!r} is not an ISO 8601 date") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise ValueError(f"created_at must be a datetime, got {type(value).__name__}")


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
    for start in range(0, len(wanted), _UPSERT_CHUNK):
        part = wanted[start : start + _UPSERT_CHUNK]
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
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
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


# -------------------------------------------------------------------------------------------- analytics


def _clause_of(analysis: Mapping[str, Any] | None, offset: int) -> str:
    """The clause (:func:`nlp.aspects.clause_at`) of the stored analysis's sentence holding character
    ``offset`` of the analysed text, or "" when no stored sentence holds it."""
    for sentence in (analysis or {}).get("sentences") or ():
        start = sentence.get("offset", 0)
        if start <= offset < start + sentence.get("length", 0):
            return clause_at(sentence.get("text", ""), offset - start)
    return ""


def review_records(
    session: Session,
    product_id: str | None = None,
    category: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
) -> list[ReviewRecord]:
    """The stored reviews matching the filters (same meaning as in :func:`list_reviews`) as
    :class:`nlp.reports.ReviewRecord`, oldest first, with their aspects and topics and the product's
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
            text=review.text,
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


def retag_topics(session: Session, topic_of: Callable[[str], int], model: TopicModel, version: str) -> int:
    """Give every stored review's aspects the topics of ``model`` (topics ``version``), so reports, insights
    and the topic table read the new topics without analysing the reviews again.

    ``topic_of(term)`` is a term's topic id under ``model`` (as the analyzer assigns it). For every review:
    its aspects' ``topic``, its ``topics`` shares (:meth:`nlp.topics.TopicModel.score`) and the
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


# ----------------------------------------------------------------------------------------- interactions


def add_interactions(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Append interactions (``user_id``, ``product_id``, optional ``quantity`` (default 1) and
    ``timestamp`` (datetime or ISO 8601; naive means UTC)); returns how many were written.

    Raises:
        ValueError: a row without ``user_id`` / ``product_id``, a quantity that is not a number, or a bad date.
    """
    begin_write(session)
    values = [normalize_interaction(row) for row in rows]
    for start in range(0, len(values), _UPSERT_CHUNK):
        session.execute(insert(Interaction), values[start : start + _UPSERT_CHUNK])
    return len(values)


def normalize_interaction(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The row :func:`add_interactions` writes for ``raw`` (see there for the errors)."""
    user_id, product_id = _clean(raw.get("user_id")), _clean(raw.get("product_id"))
    if user_id is None or product_id is None:
        raise ValueError("an interaction needs a user_id and a product_id")
    quantity = raw.get("quantity")
    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        number = 1.0
    else:
        try:
            number = float(quantity)
        except (TypeError, ValueError):
            raise ValueError(f"quantity {quantity!r} is not a number") from None
        if number != number:
            number = 1.0
    return {
        "user_id": user_id,
        "product_id": product_id,
        "quantity": number,
        "timestamp": _datetime(raw.get("timestamp")),
    }


def iter_interactions(session: Session, batch: int = 10_000) -> Iterator[tuple[str, str, float]]:
    """All interactions as ``(user_id, product_id, quantity)``, in insertion order, streamed in batches."""
    stmt = select(Interaction.user_id, Interaction.product_id, Interaction.quantity).order_by(Interaction.id)
    for part in session.execute(stmt.execution_options(yield_per=batch)).tuples().partitions():
        yield from part


def data_version(session: Session) -> tuple[int, ...]:
    """A cheap fingerprint of what suggestions are built from: counts and highest ids of interactions,
    products and reviews. It changes when any of them is added to (a product update keeps it; the
    recommender cache also expires after a while)."""
    parts = (
        select(func.count(), func.coalesce(func.max(Interaction.id), 0)).select_from(Interaction),
        select(func.count(), func.count(Product.price)).select_from(Product),
        select(func.count(), func.coalesce(func.max(Review.id), 0)).select_from(Review),
    )
    return tuple(int(v) for stmt in parts for v in session.execute(stmt).one())


def review_summaries(session: Session) -> dict[str, dict[str, Any]]:
    """Per product with reviews: ``{"reviews", "ratings", "mean_rating", "positive", "terms": {(term,
    sentiment): mentions}}``, aggregated in SQL (for :class:`nlp.recommend.QualityModel`)."""
    out: dict[str, dict[str, Any]] = {}
    positive = func.sum(func.cast(Review.sentiment == "positive", Integer))
    stmt = select(
        Review.product_id, func.count(), func.count(Review.rating), func.avg(Review.rating), positive
    ).group_by(Review.product_id)
    for product_id, n, rated, mean, pos in session.execute(stmt).tuples():
        out[product_id] = {
            "reviews": int(n),
            "ratings": int(rated),
            "mean_rating": float(mean or 0.0),
            "positive": int(pos or 0),
            "terms": {},
        }
    stmt2 = select(ReviewAspect.product_id, ReviewAspect.term, ReviewAspect.sentiment, func.count()).group_by(
        ReviewAspect.product_id, ReviewAspect.term, ReviewAspect.sentiment
    )
    for product_id, term, sentiment, n in session.execute(stmt2).tuples():
        if product_id in out:
            out[product_id]["terms"][(term, sentiment)] = int(n)
    return out


def list_products(session: Session) -> list[Product]:
    """The whole catalogue, by id."""
    return list(session.scalars(select(Product).order_by(Product.product_id)))


# --------------------------------------------------------------------------------------------- API keys


def create_api_key(session: Session, role: str, name: str | None = None) -> str:
    """Create a key with ``role`` (reader / writer / admin) and return it: the only time it is ever
    available in plain text (the store keeps its SHA-256 and its first 8 characters).

    Raises:
        ValueError: unknown role.
    """
    check_role(role)
    begin_write(session)
    key = generate_key()
    session.add(ApiKey(name=_clean(name), role=role, key_hash=hash_key(key), prefix=key[:8]))
    session.flush()
    return key


def find_api_key(session: Session, plain: str) -> ApiKey | None:
    """The active (not revoked) key whose plain text is ``plain``, or None."""
    if not plain:
        return None
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
    ).one_or_none()


def list_api_keys(session: Session, include_revoked: bool = False) -> list[ApiKey]:
    """The stored keys (never their plain text), oldest first."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_api_key(session: Session, key_id: int) -> bool:
    """Revoke key ``key_id``; False if there is no such active key."""
    begin_write(session)
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    session.flush()
    return True


__all__ = [
    "DEFAULT_SOURCE",
    "InvalidCursorError",
    "UnknownProductError",
    "add_interactions",
    "add_reviews",
    "check_product_id",
    "count_reviews",
    "create_api_key",
    "data_version",
    "decode_cursor",
    "encode_cursor",
    "existing_external_ids",
    "find_api_key",
    "get_product",
    "get_review",
    "iter_interactions",
    "list_api_keys",
    "list_products",
    "list_reviews",
    "missing_products",
    "normalize_interaction",
    "normalize_product",
    "retag_topics",
    "review_records",
    "review_summaries",
    "review_texts",
    "revoke_api_key",
    "topic_stats",
    "upsert_products",
]
