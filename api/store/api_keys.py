"""API keys: created (only a hash is stored), found by their plain value, listed and revoked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.security import check_role, generate_key, hash_key
from api.db.base import utcnow
from api.db.models import (
    ApiKey,
)
from api.db.records import clean
from api.db.session import begin_write


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
