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
from api.core.security import role_allows
from api.db.session import begin_read


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
    """Verifies ``X-API-Key`` and applies the rate limits.

    Every request looks its key up in the store (one indexed query on the key's SHA-256): nothing about
    keys is cached, so a key revoked by ``reviewpulse apikey revoke``, from any process, fails from the
    next request on. Failed lookups count against the caller's address (``per_minute`` a minute, as valid
    keys do against their key), so guessing keys is throttled while valid keys from the same address
    still work. The rate limiter keeps its counters only for the current window.
    """

    def __init__(self, sessionmaker: Callable[[], Session], per_minute: int) -> None:
        self.sessionmaker = sessionmaker
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.item = RateLimitItemPerMinute(per_minute)

    def lookup(self, plain: str) -> Caller | None:
        """The active key ``plain``, or None when it is unknown or revoked."""
        with self.sessionmaker() as session:
            begin_read(session)
            key = store.find_api_key(session, plain)
            return Caller(key.id, key.role) if key else None

    def check_rate(self, caller: Caller) -> None:
        """Count a request of ``caller``; 429 (with ``Retry-After``) over the per-key limit."""
        self._hit(f"key:{caller.key_id}", f"rate limit of {self.item.amount} requests per minute exceeded")

    def failed(self, address: str) -> None:
        """Count a failed key lookup from ``address``; 429 (with ``Retry-After``) over the limit."""
        self._hit(
            f"failed:{address}", f"too many invalid API keys from this address ({self.item.amount} a minute)"
        )

    def _hit(self, name: str, message: str) -> None:
        if not self.limiter.hit(self.item, name):
            reset = self.limiter.get_window_stats(self.item, name).reset_time
            retry = max(1, math.ceil(reset - time.time()))
            raise HTTPException(429, message, {"Retry-After": str(retry)})


def require(role: str) -> Callable[..., Caller]:
    """A dependency admitting keys whose role includes ``role`` (401 without a valid key, 403 below role)."""

    def dependency(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Caller:
        if not x_api_key:
            raise HTTPException(401, "missing API key: send it in the X-API-Key header")
        guard: KeyGuard = request.app.state.key_guard
        caller = guard.lookup(x_api_key)
        if caller is None:
            guard.failed(request.client.host if request.client else "unknown")
            raise HTTPException(401, "invalid or revoked API key")
        if not role_allows(caller.role, role):
            raise HTTPException(403, f"this key has role {caller.role!r}; {role!r} is needed")
        guard.check_rate(caller)
        return caller

    return dependency


Reader = Annotated[Caller, Depends(require("reader"))]
Writer = Annotated[Caller, Depends(require("writer"))]
