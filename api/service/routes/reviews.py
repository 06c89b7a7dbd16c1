"""``POST /v1/reviews`` (ingest, idempotent on source + external_id) and ``GET /v1/reviews`` (filtered list)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api import store
from api.db.records import clean
from api.service.deps import Reader, SessionDep, Writer
from api.service.errors import JSONRoute
from api.service.schemas import (
    DateOrInstant,
    IngestError,
    IngestItem,
    IngestResponse,
    Problem,
    ReviewOut,
    ReviewPage,
    ReviewsIn,
    Text,
    check_date_range,
)
from nlp.analysis.analyzer import AnalysisError
from nlp.analysis.text import with_title

router = APIRouter(prefix="/v1", tags=["reviews"], route_class=JSONRoute)
MAX_BATCH = 100


def review_out(review) -> ReviewOut:
    """The API view of a stored review (its analysis comes from the stored analysis JSON)."""
    analysis = review.analysis or {}
    return ReviewOut(
        id=review.id,
        product_id=review.product_id,
        source=review.source,
        external_id=review.external_id,
        title=review.title,
        text=review.text,
        analyzed_text=store.analyzed_text(review),
        rating=review.rating,
        author_id=review.author_id,
        created_at=review.created_at,
        sentiment=analysis["sentiment"],
        topics=analysis.get("topics", []),
        aspects=analysis.get("aspects", []),
        language=analysis.get("language"),
        flags=analysis.get("flags", []),
        model_version=review.model_version,
    )


@router.post(
    "/reviews",
    status_code=201,
    response_model=ReviewOut | IngestResponse,
    responses={200: {"description": "Already stored (same source and external_id) or a batch result"},
               422: {"model": Problem}, 413: {"model": Problem}},
)  # fmt: skip
async def ingest(
    request: Request,
    response: Response,
    caller: Writer,
    body: Annotated[ReviewsIn, Body()],
) -> ReviewOut | IngestResponse:
    """Analyse and store one review (201, or 200 when it was already stored) or a batch of up to 100
    (200 with a status per review and per-review errors: unknown product, text that cannot be analysed)."""
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_BATCH:
        raise HTTPException(413, f"at most {MAX_BATCH} reviews per request; got {len(items)}")
    _, analyses = await request.app.state.analysis.analyze([with_title(i.title, i.text) for i in items])

    def save() -> tuple[list[IngestItem], list[IngestError]]:
        done, errors = [], []
        with request.app.state.sessionmaker() as session:
            known = {p for p in {i.product_id for i in items} if store.get_product(session, p) is not None}
            rows, row_analyses, indexes = [], [], []
            for index, (item, analysis) in enumerate(zip(items, analyses, strict=True)):
                if item.product_id not in known:
                    message = f"product_id {item.product_id!r} is not in the catalogue; add it with POST /v1/products"
                    errors.append(IngestError(index=index, code="unknown_product", message=message))
                elif isinstance(analysis, AnalysisError):
                    errors.append(IngestError(index=index, code=analysis.code, message=analysis.message))
                else:
                    rows.append(item)
                    row_analyses.append({"text": analysis.text, **analysis.to_dict()})
                    indexes.append(index)
            stored = store.add_reviews(session, rows, row_analyses) if rows else []
            session.commit()
            for index, (review, created) in zip(indexes, stored, strict=True):
                status: Literal["created", "duplicate"] = "created" if created else "duplicate"
                done.append(IngestItem(index=index, status=status, review=review_out(review)))
        return done, errors

    done, errors = await run_in_threadpool(save)
    if isinstance(body, list):
        response.status_code = 200
        return IngestResponse(items=done, errors=errors)
    if errors:
        raise HTTPException(422, f"{errors[0].code}: {errors[0].message}")
    response.status_code = 201 if done[0].status == "created" else 200
    return done[0].review


@router.get("/reviews", response_model=ReviewPage, responses={400: {"model": Problem}})
def list_reviews(
    session: SessionDep,
    caller: Reader,
    product_id: Text | None = None,
    category: Text | None = None,
    sentiment: Literal["negative", "neutral", "positive"] | None = None,
    topic: int | None = Query(None, ge=-1, le=100_000, description="Topic id (see GET /v1/topics)."),
    date_from: DateOrInstant | None = Query(
        None, alias="from", description="Created at or after: an ISO 8601 date (UTC) or date-time."
    ),
    date_to: DateOrInstant | None = Query(
        None, alias="to", description="Created at or before; a date includes its whole day (UTC)."
    ),
    cursor: str | None = Query(None, description="next_cursor of the previous page."),
    limit: int = Query(50, ge=1, le=200),
) -> ReviewPage:
    """Stored reviews, newest first, filtered, with cursor pagination. ``product_id`` and ``category`` are
    trimmed, and a ``from`` after ``to`` is a 422, as on the sentiment report."""
    product_id, category = clean(product_id), clean(category)
    check_date_range(date_from, date_to)
    try:
        reviews, next_cursor = store.list_reviews(
            session, product_id=product_id, category=category, sentiment=sentiment, topic_id=topic,
            date_from=date_from, date_to=date_to, cursor=cursor, limit=limit,
        )  # fmt: skip
    except store.InvalidCursorError as exc:
        raise HTTPException(400, f"cursor: {exc}") from exc
    return ReviewPage(items=[review_out(r) for r in reviews], next_cursor=next_cursor)
