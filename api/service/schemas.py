"""Request and response models of the HTTP API (kept apart from the tables in ``api.db.models``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.db.records import OptionalText, ReviewFields, Text
from api.store import check_product_id


def _date_or_instant(value: object) -> date | datetime:
    """A ``from`` / ``to`` query value: a ``date`` for ``YYYY-MM-DD`` (a whole day, UTC), else an aware UTC
    ``datetime`` for an ISO 8601 date-time: without an offset it is UTC; with one it is converted, so
    ``2026-12-04T00:00:00-08:00`` is 2026-12-04 08:00 UTC (never read as the date 2026-12-04).

    Raises:
        ValueError: not ISO 8601, or outside the years 1-9999 once converted to UTC.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    moment = value
    if isinstance(value, str):
        text = value.strip()
        try:
            if not any(sep in text for sep in "Tt "):
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY-MM-DD) or date-time") from None
    if not isinstance(moment, datetime):
        raise ValueError("must be an ISO 8601 date or date-time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1-9999 in UTC") from None


#: A ``from`` / ``to`` filter: a date (its whole UTC day) or an instant (see :func:`_date_or_instant`).
DateOrInstant = Annotated[
    date | datetime,
    PlainValidator(_date_or_instant),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}),
]


def check_date_range(date_from: date | datetime | None, date_to: date | datetime | None) -> None:
    """Refuse a ``from`` filter that starts after the ``to`` filter ends, so that no moment passes both (a date
    is its whole UTC day; the values are as :func:`_date_or_instant` gives them).

    Raises:
        RequestValidationError: the 422 naming ``query.from``.
    """
    if date_from is None or date_to is None:
        return
    start = date_from if isinstance(date_from, datetime) else datetime.combine(date_from, time(), tzinfo=UTC)
    if start > date_to if isinstance(date_to, datetime) else start.date() > date_to:
        message = f"from ({date_from.isoformat()}) is after to ({date_to.isoformat()})"
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "from"), "msg": message}])


SentimentLabel = Literal["negative", "neutral", "positive"]


class Sentiment(BaseModel):
    label: SentimentLabel
    scores: dict[str, float] = Field(description="Probability of each class; they sum to 1.")


class Opinion(BaseModel):
    text: str
    offset: int
    length: int
    negated: bool


class TopicRef(BaseModel):
    id: int = Field(description="Topic id; -1 is the outlier topic.")
    label: str


class TopicScore(TopicRef):
    score: float = Field(description="Share of the document's aspect mentions in this topic (0..1).")


class SentenceResult(BaseModel):
    text: str
    offset: int = Field(description="Character offset in the prepared text.")
    length: int
    sentiment: Sentiment


class AspectResult(BaseModel):
    text: str
    offset: int
    length: int
    term: str = Field(
        description="Lemmatised aspect term that reports group by (American spelling: colour -> color)."
    )
    topic: TopicRef
    category: str | None = Field(
        None,
        description="Aspect category: fit/size, fabric/material, colour, quality/durability, comfort, "
        "style/look, price/value, delivery, service or general (null for reviews stored before categories).",
        examples=["fabric/material"],
    )
    sentiment: Sentiment = Field(
        description="The aspect's polarity: the aspects model's polarity head reading the aspect's clause (with "
        "a sentiment version it was not fitted on, the clause's own sentiment). When that reading is neutral and "
        "the aspect's opinion terms state one polarity ('runs small', 'broke'), the label is theirs and the scores "
        "stay the model's, so the label need not be the class with the highest score."
    )
    opinions: list[Opinion]


class Entity(BaseModel):
    text: str
    label: str
    offset: int
    length: int


class AnalyzeDocument(BaseModel):
    id: Text = Field(min_length=1, max_length=128, examples=["r1"])
    text: Text = Field(examples=["The fabric is so soft but it runs small."])


class AnalyzeOptions(BaseModel):
    # StrictBool: a JSON true or false, never "yes", 1 or "true" (booleans in request bodies are strict)
    redact_pii: StrictBool = Field(
        False, description="Redact e-mail addresses, phone and card numbers first."
    )
    include_text: StrictBool = Field(False, description="Return the prepared text that all offsets index.")


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "documents": [
                        {"id": "r1", "text": "The fabric is so soft but it runs small."},
                        {"id": "r2", "text": "Arrived late and the zipper broke."},
                    ],
                    "options": {"redact_pii": True},
                }
            ]
        }
    )
    documents: list[AnalyzeDocument] = Field(min_length=1, description="At most 100 documents.")
    options: AnalyzeOptions = AnalyzeOptions()


LANGUAGE_DESCRIPTION = "ISO 639-1 code of the text's language (en when the identifier is not confident)."
FLAGS_DESCRIPTION = (
    "What the models could not read: unsupported_language (confidently not English: the sentiment is "
    "neutral at 1/3 per class, no English reading, and there are no sentences, aspects or entities); "
    "no_opinion (at most 10 words and no opinion expression, e.g. 'ok', 'n/a': every sentiment in the "
    "record is neutral at 1/3 per class)."
)


class DocumentResult(BaseModel):
    id: str
    text: str | None = None
    sentiment: Sentiment
    sentences: list[SentenceResult]
    aspects: list[AspectResult]
    topics: list[TopicScore]
    entities: list[Entity]
    language: str = Field(description=LANGUAGE_DESCRIPTION, examples=["en"])
    flags: list[Literal["unsupported_language", "no_opinion"]] = Field([], description=FLAGS_DESCRIPTION)
    truncated: bool = False


class DocumentError(BaseModel):
    id: str
    code: str = Field(examples=["empty_text"])
    message: str


class AnalyzeResponse(BaseModel):
    model_version: str
    results: list[DocumentResult]
    errors: list[DocumentError]


class ProductIn(BaseModel):
    product_id: Annotated[Text, AfterValidator(check_product_id)] = Field(
        min_length=1, max_length=128, examples=["DRS-101"], description="No '/', and not '.' or '..'."
    )
    name: Text = Field(min_length=1, max_length=500, examples=["Linen wrap dress"])
    category: OptionalText = Field(None, max_length=200, examples=["Dresses"])
    description: OptionalText = Field(None, max_length=20_000)
    price: StrictFloat | None = Field(None, ge=0, le=1_000_000_000, examples=[89.0])


M = TypeVar("M", bound=BaseModel)


def _one_or_many(model: type[M]) -> PlainValidator:
    """Validate a body that is one ``model`` or a list of them as the shape the client sent, so that errors
    name ``body.rating`` for an object and ``body.1.rating`` for a list (a plain union would report each bad
    field once per member, as ``body.ReviewIn.rating``, plus a misleading 'Input should be a valid list')."""
    one, many = TypeAdapter(model), TypeAdapter(list[model])  # type: ignore[valid-type]

    def validate(value: object) -> M | list[M]:
        if isinstance(value, list):
            return many.validate_python(value)
        if isinstance(value, dict | model):
            return one.validate_python(value)
        raise PydanticCustomError("one_or_many", "Input should be an object or a list of objects")

    return PlainValidator(validate, json_schema_input_type=model | list[model])  # type: ignore[valid-type]


class ProductOut(ProductIn):
    model_config = ConfigDict(from_attributes=True)


class ReviewIn(ReviewFields):
    """A review sent to ``POST /v1/reviews``: :class:`api.db.records.ReviewFields`, with an example."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product_id": "DRS-101",
                    "title": "Lovely but small",
                    "text": "The fabric is so soft but it runs small.",
                    "rating": 4,
                    "source": "shop",
                    "external_id": "shop-8812",
                }
            ]
        }
    )


#: The body of ``POST /v1/products``: one product or a list (see :func:`_one_or_many`).
ProductsIn = Annotated[ProductIn | list[ProductIn], _one_or_many(ProductIn)]
#: The body of ``POST /v1/reviews``: one review or a list (see :func:`_one_or_many`).
ReviewsIn = Annotated[ReviewIn | list[ReviewIn], _one_or_many(ReviewIn)]


class ReviewOut(BaseModel):
    id: int
    product_id: str
    source: str
    external_id: str | None
    title: str | None
    text: str
    analyzed_text: str = Field(
        description="The text the models read, which every offset of `aspects` indexes: the title, '. ' and the "
        "text when there is a title (the models were trained on reviews so), else the text; PII redacted when the "
        "service redacts it."
    )
    rating: int | None
    author_id: str | None
    created_at: datetime
    sentiment: Sentiment
    topics: list[TopicScore]
    aspects: list[AspectResult]
    language: str | None = Field(
        None, description=LANGUAGE_DESCRIPTION + " Null for reviews stored before language identification."
    )
    flags: list[Literal["unsupported_language", "no_opinion"]] = Field([], description=FLAGS_DESCRIPTION)
    model_version: str


class IngestItem(BaseModel):
    index: int = Field(description="Position in the request.")
    status: Literal["created", "duplicate"]
    review: ReviewOut


class IngestError(BaseModel):
    index: int
    code: str
    message: str


class IngestResponse(BaseModel):
    items: list[IngestItem]
    errors: list[IngestError]


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")


class TopicInfo(BaseModel):
    id: int
    label: str
    size: int = Field(description="Reviews of the training corpus mentioning the topic.")
    terms: list[str]
    stored_reviews: int = Field(description="Stored reviews mentioning the topic.")
    sentiment_distribution: dict[str, float]
    representative_reviews: list[dict]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict] | None = None


class SuggestionOut(BaseModel):
    product_id: str
    name: str
    score: float = Field(description="Ranking score of the strategy (higher is better; not a probability).")
    reasons: list[str] = Field(
        min_length=1, examples=[["bought together with Linen wrap dress by 38 customers"]]
    )
    price: float | None = Field(None, description="The catalogue price, if it has one.")


class RecommendationsOut(BaseModel):
    items: list[SuggestionOut]
    strategy: str = Field(
        description="also_bought, similar_content, for_you, query(+reviews), popular or none."
    )
    reason: str | None = Field(None, description="Why the list is empty or fell back to popular items.")


class AnswerContext(BaseModel):
    order_id: OptionalText = Field(None, max_length=128, examples=["113542617735904"])
    product_id: OptionalText = Field(None, max_length=128, examples=["1078"])


class AnswerRequest(BaseModel):
    question: Text = Field(min_length=1, max_length=2000, examples=["Where is my order 113542617735904?"])
    session_id: OptionalText = Field(None, max_length=128, description="The conversation, echoed back.")
    context: AnswerContext | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty or whitespace only")
        return value


class IntentOut(BaseModel):
    name: str = Field(description="Intent name, or product_question for an answer from reviews.")
    confidence: float = Field(
        description="Probability of the intent (0..1); for product_question, 1 - the top support intent's."
    )


class EntityOut(BaseModel):
    type: str = Field(examples=["order_id"])
    value: str
    offset: int = Field(description="Character offset in the question.")
    length: int


class ProductAnswerOut(BaseModel):
    product_id: str
    aspect: str
    category: str | None = Field(
        None,
        description="The aspect category the mentions were matched by (fit/size), or None (by term or topic).",
    )
    reviews: int = Field(description="Reviews of the product that mention the aspect.")
    sentiment: dict[str, float] = Field(description="Share of those reviews per sentiment label.")
    opinion: dict | None = Field(
        None,
        description="The most frequent opinion sharing a word with the question: text, reviews (that say any "
        "such opinion), share.",
    )
    quote: dict = Field(description="review_id, text, sentiment.")


class AnswerOut(BaseModel):
    intent: IntentOut
    ranking: list[IntentOut] = Field(description="The five most probable intents, best first.")
    out_of_scope: bool
    answer: str
    entities: list[EntityOut]
    product: ProductAnswerOut | None = None
    session_id: str | None = None
    model_version: str
