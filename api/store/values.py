"""Small helpers shared by the store's modules."""

from __future__ import annotations

from typing import Any


def clean(value: Any) -> str | None:
    """A stripped string, or None for missing / blank / NaN values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


#: Rows per multi-row INSERT and ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's limits on
#: the parameters of one statement.
UPSERT_CHUNK = 500
