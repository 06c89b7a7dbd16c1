"""``GET /v1/recommendations``: product suggestions with reasons (the chat assistant's suggest action)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from api.service.deps import Reader, SessionDep
from api.service.errors import JSONRoute
from api.service.schemas import Problem, RecommendationsOut, Text
from nlp.recommend.recommender import UnknownProductError

router = APIRouter(prefix="/v1", tags=["recommendations"], route_class=JSONRoute)


@router.get("/recommendations", response_model=RecommendationsOut, responses={404: {"model": Problem}})
def recommendations(
    request: Request,
    session: SessionDep,
    caller: Reader,
    user_id: Annotated[Text | None, Query(max_length=128, description="Suggest for this customer.")] = None,
    product_id: Annotated[
        Text | None, Query(max_length=128, description="Products bought with this one.")
    ] = None,
    q: Annotated[
        Text | None, Query(max_length=500, description='A free-text need, e.g. "warm coat".')
    ] = None,
    category: Annotated[Text | None, Query(max_length=200)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    k: Annotated[int, Query(ge=1, le=100, description="How many suggestions.")] = 10,
) -> RecommendationsOut:
    """Up to ``k`` products, best first, each with human-readable reasons. An unknown ``product_id`` is a
    404; an unknown user gets popular items (in the category the query matches); nothing to go on gives an
    empty list with ``reason``."""
    recommender = request.app.state.suggestions.get(session)
    try:
        result = recommender.recommend(user_id, product_id, q, category, max_price, k)
    except UnknownProductError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RecommendationsOut.model_validate(asdict(result))
