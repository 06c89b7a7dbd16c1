"""API keys and roles.

Keys are ``rp_`` + 32 random bytes (URL-safe base64), shown once at creation; only their SHA-256 is stored.
A fast, unsalted hash is the right tool here: unlike passwords, the keys are high-entropy random tokens,
so there is nothing to brute-force or look up in a dictionary, and a deterministic hash lets the service
find a key by an indexed equality lookup on every request. (A slow KDF such as bcrypt would only add
latency to every call without adding security.)
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "rp_"
#: Roles in increasing order of power; a higher role includes every lower one.
ROLES: tuple[str, ...] = ("reader", "writer", "admin")


def generate_key() -> str:
    """A new random API key: ``rp_`` followed by 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 hex digest of ``key``: what the store keeps and looks keys up by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def role_allows(have: str, need: str) -> bool:
    """Whether a key with role ``have`` may do what needs role ``need`` (``reader < writer < admin``).

    Unknown role names never allow anything.
    """
    if have not in ROLES or need not in ROLES:
        return False
    return ROLES.index(have) >= ROLES.index(need)


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else ``ValueError`` naming the valid ones."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role
