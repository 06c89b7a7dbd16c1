"""FastAPI dependencies: database session, the analyzer, and API-key authentication with rate limiting."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from api import store
from api.core.security import hash_key, role_allows
from api.db.session import begin_read

#: How long a verified key is trusted without asking the database again, in seconds.
KEY_CACHE_SECONDS = 30.0


def get_db(request: Request) -> Iterator[Session]:
    """A session for the request; a GET (or HEAD) request only reads, so on SQLite its transaction is a
    deferred one that never waits for a writer (see :mod:`api.db.session`)."""
    with request.app.state.sessionmaker() as session:
        if request.method in ("GET", "HEAD"):
            begin_read(session)
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True)
class Caller:
    """The authenticated API key: its id and role."""

    key_id: int
    role: str


class KeyGuard:
    """Verifies ``X-API-Key`` (cached for :data:`KEY_CACHE_SECONDS`) and applies the per-key rate limit."""

    def __init__(self, sessionmaker: Callable[[], Session], per_minute: int) -> None:
        self.sessionmaker = sessionmaker
        self.cache: dict[str, tuple[Caller | None, float]] = {}
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.item = RateLimitItemPerMinute(per_minute)

    def lookup(self, plain: str) -> Caller | None:
        digest = hash_key(plain)
        cached = self.cache.get(digest)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        with self.sessionmaker() as session:
            begin_read(session)
            key = store.find_api_key(session, plain)
            caller = Caller(key.id, key.role) if key else None
        self.cache[digest] = (caller, time.monotonic() + KEY_CACHE_SECONDS)
        return caller

    def check_rate(self, caller: Caller) -> None:
        if not self.limiter.hit(self.item, str(caller.key_id)):
            reset = self.limiter.get_window_stats(self.item, str(caller.key_id)).reset_time
            retry = max(1, math.ceil(reset - time.time()))
            raise HTTPException(
                429,
                f"rate limit of {self.item.amount} requests per minute exceeded",
                {"Retry-After": str(retry)},
            )


def require(role: str) -> Callable[..., Caller]:
    """A dependency admitting keys whose role includes ``role`` (401 without a valid key, 403 below role)."""

    def dependency(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Caller:
        if not x_api_key:
            raise HTTPException(401, "missing API key: send it in the X-API-Key header")
        guard: KeyGuard = request.app.state.key_guard
        caller = guard.lookup(x_api_key)
        if caller is None:
            raise HTTPException(401, "invalid or revoked API key")
        if not role_allows(caller.role, role):
            raise HTTPException(403, f"this key has role {caller.role!r}; {role!r} is needed")
        guard.check_rate(caller)
        return caller

    return dependency


Reader = Annotated[Caller, Depends(require("reader"))]
Writer = Annotated[Caller, Depends(require("writer"))]
