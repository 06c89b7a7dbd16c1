"""Small helpers shared by the store's modules."""

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


def clean(value: Any) -> str | None:
    """A stripped string, or None for missing / blank / NaN values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


UPSERT_CHUNK = 500
