"""Brand-manager reports and product insights over analysed reviews (no web code: plain records in,
JSON-ready dicts, CSV or one self-contained HTML page out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AspectRecord:
    """One aspect mention of a stored review: surface ``text``, lemmatised ``term``, topic, clause sentiment
    label (negative / neutral / positive) and opinion texts."""

    text: str
    term: str
    topic_id: int
    topic_label: str
    sentiment: str
    opinions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewRecord:
    """A stored, analysed review as reports see it. ``scores`` maps negative / neutral / positive to
    probabilities; ``topics`` is ``((topic_id, label, score), ...)``."""

    review_id: int
    product_id: str
    category: str | None
    rating: int | None
    created_at: datetime
    text: str
    sentiment: str
    scores: dict[str, float]
    aspects: tuple[AspectRecord, ...] = ()
    topics: tuple[tuple[int, str, float], ...] = field(default_factory=tuple)
