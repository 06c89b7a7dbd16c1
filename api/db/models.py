"""The store's tables (SQLAlchemy 2 typed mappings). Request / response schemas live apart, in the API.

``reviews`` keeps each review with its full analysis (``analysis``: the ``ReviewAnalysis.to_dict()`` JSON)
and the document sentiment as columns for filtering; ``review_aspects`` and ``review_topics`` flatten the
aspects and topics of that analysis for reports and filters. Any change here needs a migration under
``api/db/migrations/versions`` (the test suite checks that the migrations and these tables agree).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow

ROLES = ("reader", "writer", "admin")
SENTIMENTS = ("negative", "neutral", "positive")


class Product(Base):
    """A catalogue entry."""

    __tablename__ = "products"

    product_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"Product({self.product_id!r}, {self.name!r})"


class Review(Base):
    """A review of a catalogue product, stored with its analysis.

    ``(source, external_id)`` is unique when ``external_id`` is set: the idempotency key of ingestion.
    ``created_at`` is when the customer wrote it (given, or the ingest time); ``ingested_at`` when it was
    stored. ``score_*`` are the document sentiment probabilities.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        Index("ix_reviews_product_id_created_at", "product_id", "created_at"),
        Index("ix_reviews_created_at_id", "created_at", "id"),
        Index("ix_reviews_sentiment", "sentiment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id"))
    source: Mapped[str] = mapped_column(String, default="api", server_default="api")
    external_id: Mapped[str | None] = mapped_column(String)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    author_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sentiment: Mapped[str] = mapped_column(String(16))
    score_negative: Mapped[float] = mapped_column(Float)
    score_neutral: Mapped[float] = mapped_column(Float)
    score_positive: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(128))
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)

    product: Mapped[Product] = relationship()
    aspects: Mapped[list[ReviewAspect]] = relationship(
        back_populates="review",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReviewAspect.id",
    )
    topics: Mapped[list[ReviewTopic]] = relationship(
        back_populates="review",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReviewTopic.topic_id",
    )

    @property
    def scores(self) -> dict[str, float]:
        """Document sentiment probabilities by label."""
        return {
            "negative": self.score_negative,
            "neutral": self.score_neutral,
            "positive": self.score_positive,
        }

    def __repr__(self) -> str:
        return f"Review(id={self.id}, product_id={self.product_id!r}, sentiment={self.sentiment!r})"


class ReviewAspect(Base):
    """One aspect mention of a review: surface ``text`` at ``offset``/``length`` (characters of the analysed
    text), its ``term`` (grouping key), topic, aspect ``category`` (``nlp.analysis.categories.CATEGORIES``; NULL for
    reviews analysed before categories existed), polarity label (``AspectAnalysis.sentiment``) and opinion texts."""

    __tablename__ = "review_aspects"
    __table_args__ = (
        Index("ix_review_aspects_product_id_term", "product_id", "term"),
        Index("ix_review_aspects_topic_id", "topic_id"),
        Index("ix_review_aspects_review_id", "review_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    term: Mapped[str] = mapped_column(String)
    topic_id: Mapped[int] = mapped_column(Integer)
    topic_label: Mapped[str] = mapped_column(String)
    category: Mapped[str | None] = mapped_column(String(32))
    sentiment: Mapped[str] = mapped_column(String(16))
    opinions: Mapped[list[str]] = mapped_column(JSON)
    offset: Mapped[int] = mapped_column(Integer)
    length: Mapped[int] = mapped_column(Integer)

    review: Mapped[Review] = relationship(back_populates="aspects")


class ReviewTopic(Base):
    """A review's share (``score``, 0..1) of aspect mentions in one topic."""

    __tablename__ = "review_topics"
    __table_args__ = (Index("ix_review_topics_topic_id", "topic_id"),)

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String)
    score: Mapped[float] = mapped_column(Float)

    review: Mapped[Review] = relationship(back_populates="topics")


class ApiKey(Base):
    """An API key: only its SHA-256 (``key_hash``) is stored; ``prefix`` (its first 8 characters) lets
    people tell keys apart. A key with ``revoked_at`` set no longer authenticates."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("role IN ('reader', 'writer', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id}, prefix={self.prefix!r}, role={self.role!r})"


class Interaction(Base):
    """Implicit feedback: ``user_id`` bought (or viewed) ``quantity`` of ``product_id`` at ``timestamp``.

    ``product_id`` is deliberately not a foreign key: order logs often name products the catalogue lacks,
    and the recommender still learns from them (they are shown by id until the catalogue names them).
    """

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_user_id", "user_id"),
        Index("ix_interactions_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String)
    product_id: Mapped[str] = mapped_column(String)
    quantity: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
