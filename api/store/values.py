"""Sizes shared by the store's modules."""

from __future__ import annotations

#: Rows per multi-row INSERT and ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's limits on
#: the parameters of one statement.
UPSERT_CHUNK = 500
