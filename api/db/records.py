"""What the store accepts as a review: its fields and their rules, in one place for the HTTP API
(:class:`api.service.schemas.ReviewIn` adds only its documentation), the bulk loader (``reviewpulse load reviews``)
and :func:`api.store.add_reviews`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

#: Reviews dated earlier than this are rejected as implausible (e-commerce reviews start in the mid-1990s).
EARLIEST_REVIEW = datetime(1995, 1, 1, tzinfo=UTC)


def _encodable(value: str) -> str:
    """Reject lone surrogates and NUL: not Unicode text / not storable in PostgreSQL text columns."""
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text contains invalid Unicode (a lone surrogate)") from exc
    return value


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a moment without an offset is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def clean(value: Any) -> str | None:
    """A stripped string, or None for missing / blank / NaN values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


#: A string that can be stored or searched for: valid Unicode, no NUL (bodies, query and path values).
Text = Annotated[str, AfterValidator(_encodable)]


def _encodable_or_none(value: str | None) -> str | None:
    """:data:`Text`'s rule for an optional value: None passes."""
    return None if value is None else _encodable(value)


#: An optional :data:`Text`. ``Text | None`` would check a field's ``max_length`` after the Text rule, where
#: pydantic no longer knows it has a string ("Value should have at most 128 items"); here the limit applies
#: to the string first ("String should have at most 128 characters").
OptionalText = Annotated[str | None, AfterValidator(_encodable_or_none)]


class ReviewFields(BaseModel):
    """One review as written: validated, not yet analysed or stored.

    Raises (on validation): ``pydantic.ValidationError`` (a ``ValueError``) naming each bad field: a missing
    or over-long product id or text, a rating that is not an integer from 1 to 5 (a JSON ``true``, ``4.0``
    or ``"4"`` included: a CSV cell is converted by its reader first), a date before
    :data:`EARLIEST_REVIEW` or after tomorrow, text with NUL or a lone surrogate.
    """

    product_id: Text = Field(min_length=1, max_length=128)
    text: Text = Field(min_length=1, max_length=20_000)
    title: OptionalText = Field(None, max_length=500)
    rating: StrictInt | None = Field(None, ge=1, le=5, description='A JSON integer (not true, 4.0 or "4").')
    created_at: datetime | None = Field(
        None, description="When the review was written (ISO 8601; without an offset, UTC); default now."
    )
    author_id: OptionalText = Field(None, max_length=128)
    source: Text = Field("api", min_length=1, max_length=64)
    external_id: OptionalText = Field(
        None, max_length=256, description="With source, makes ingest idempotent."
    )

    @classmethod
    def check(cls, field: str, value: object) -> None:
        """Check one field's value alone (e.g. a command-line option that every row takes).

        Raises:
            ValueError: the message of the field's first broken rule.
        """
        info = cls.model_fields[field]
        try:
            TypeAdapter(Annotated[info.annotation, *info.metadata]).validate_python(value)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"]) from None

    @field_validator("created_at")
    @classmethod
    def _plausible_date(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if not EARLIEST_REVIEW <= utc(value) <= datetime.now(UTC) + timedelta(days=1):
            raise ValueError(f"{value.isoformat()} is not between {EARLIEST_REVIEW.date()} and tomorrow")
        return value
