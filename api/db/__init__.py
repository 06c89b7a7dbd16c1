"""The review store's database layer: tables (SQLAlchemy 2), engines and sessions, Alembic migrations."""

from api.db.base import Base
from api.db.models import ApiKey, Product, Review, ReviewAspect, ReviewTopic
from api.db.session import begin_read, begin_write, make_engine, make_sessionmaker

__all__ = [
    "ApiKey",
    "Base",
    "Product",
    "Review",
    "ReviewAspect",
    "ReviewTopic",
    "begin_read",
    "begin_write",
    "make_engine",
    "make_sessionmaker",
]
