"""What suggestions are built from: customer-product interactions, per-product review summaries, and a
fingerprint of both that tells when to rebuild the recommender."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Integer, func, insert, select
from sqlalchemy.orm import Session

from api.db.models import (
    Interaction,
    Product,
    Review,
    ReviewAspect,
)
from api.db.records import clean, utc
from api.db.session import begin_write
from api.store.values import UPSERT_CHUNK


def add_interactions(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Append interactions (``user_id``, ``product_id``, optional ``quantity`` (default 1) and
    ``timestamp`` (datetime or ISO 8601; naive means UTC)); returns how many were written.

    Raises:
        ValueError: a row without ``user_id`` / ``product_id``, a quantity that is not a number, or a bad date.
    """
    begin_write(session)
    values = [normalize_interaction(row) for row in rows]
    for start in range(0, len(values), UPSERT_CHUNK):
        session.execute(insert(Interaction), values[start : start + UPSERT_CHUNK])
    return len(values)


def normalize_interaction(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The row :func:`add_interactions` writes for ``raw`` (see there for the errors)."""
    user_id, product_id = clean(raw.get("user_id")), clean(raw.get("product_id"))
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


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not an ISO 8601 date") from None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise ValueError(f"timestamp must be a datetime, got {type(value).__name__}")


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
    sentiment): mentions}}``, aggregated in SQL (for :class:`nlp.recommend.recommender.QualityModel`)."""
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
