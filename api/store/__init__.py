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

One module per resource (``products``, ``reviews``, ``topics``, ``interactions``, ``api_keys``); the
functions callers use are re-exported here, so ``from api import store`` then ``store.add_reviews(...)``.
"""

from __future__ import annotations

from api.store.api_keys import create_api_key, find_api_key, list_api_keys, revoke_api_key
from api.store.interactions import (
    add_interactions,
    data_version,
    iter_interactions,
    normalize_interaction,
    review_summaries,
)
from api.store.products import (
    UnknownProductError,
    check_product_id,
    get_product,
    list_products,
    missing_products,
    normalize_product,
    upsert_products,
)
from api.store.reviews import (
    DEFAULT_SOURCE,
    InvalidCursorError,
    add_reviews,
    analyzed_text,
    count_reviews,
    decode_cursor,
    encode_cursor,
    existing_external_ids,
    get_review,
    iter_review_texts,
    list_reviews,
    review_records,
    review_texts,
)
from api.store.topics import retag_topics, topic_stats

__all__ = [
    "DEFAULT_SOURCE",
    "InvalidCursorError",
    "UnknownProductError",
    "add_interactions",
    "add_reviews",
    "analyzed_text",
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
    "iter_review_texts",
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
