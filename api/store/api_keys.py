"""API keys: created (only a hash is stored), found by their plain value, listed and revoked."""

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
from api.store.values import UPSERT_CHUNK, clean


def create_api_key(session: Session, role: str, name: str | None = None) -> str:
    """Create a key with ``role`` (reader / writer / admin) and return it: the only time it is ever
    available in plain text (the store keeps its SHA-256 and its first 8 characters).

    Raises:
        ValueError: unknown role.
    """
    check_role(role)
    begin_write(session)
    key = generate_key()
    session.add(ApiKey(name=clean(name), role=role, key_hash=hash_key(key), prefix=key[:8]))
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
