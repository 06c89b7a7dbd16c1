"""Initial schema: products, reviews with their analysis, review aspects and topics, API keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_category"), "products", ["category"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), server_default="api", nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),
        sa.Column("score_negative", sa.Float(), nullable=False),
        sa.Column("score_neutral", sa.Float(), nullable=False),
        sa.Column("score_positive", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_reviews_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.product_id"], name=op.f("fk_reviews_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_reviews_source_external_id")),
    )
    op.create_index("ix_reviews_product_id_created_at", "reviews", ["product_id", "created_at"])
    op.create_index("ix_reviews_created_at_id", "reviews", ["created_at", "id"])
    op.create_index("ix_reviews_sentiment", "reviews", ["sentiment"])

    op.create_table(
        "review_aspects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("topic_label", sa.String(), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),
        sa.Column("opinions", sa.JSON(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_aspects_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_aspects")),
    )
    op.create_index("ix_review_aspects_product_id_term", "review_aspects", ["product_id", "term"])
    op.create_index("ix_review_aspects_topic_id", "review_aspects", ["topic_id"])
    op.create_index("ix_review_aspects_review_id", "review_aspects", ["review_id"])

    op.create_table(
        "review_topics",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_topics_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "topic_id", name=op.f("pk_review_topics")),
    )
    op.create_index("ix_review_topics_topic_id", "review_topics", ["topic_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('reader', 'writer', 'admin')", name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_review_topics_topic_id", table_name="review_topics")
    op.drop_table("review_topics")
    op.drop_index("ix_review_aspects_review_id", table_name="review_aspects")
    op.drop_index("ix_review_aspects_topic_id", table_name="review_aspects")
    op.drop_index("ix_review_aspects_product_id_term", table_name="review_aspects")
    op.drop_table("review_aspects")
    op.drop_index("ix_reviews_sentiment", table_name="reviews")
    op.drop_index("ix_reviews_created_at_id", table_name="reviews")
    op.drop_index("ix_reviews_product_id_created_at", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_products_category"), table_name="products")
    op.drop_table("products")
