"""``POST /v1/products`` (catalogue upsert), ``GET /v1/products/{id}`` and its review insights."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query

from api import store
from api.service.deps import Reader, SessionDep, Writer
from api.service.errors import JSONRoute
from api.service.schemas import Problem, ProductOut, ProductsIn, Text
from nlp.insights.report import product_insights

router = APIRouter(prefix="/v1", tags=["products"], route_class=JSONRoute)


@router.post("/products", status_code=201, response_model=list[ProductOut])
def upsert_products(
    session: SessionDep, caller: Writer, body: Annotated[ProductsIn, Body()]
) -> list[ProductOut]:
    """Add or update one product or a list (keyed by ``product_id``)."""
    items = body if isinstance(body, list) else [body]
    rows = []
    for index, item in enumerate(items):
        try:
            rows.append(store.normalize_product(item.model_dump()))
        except ValueError as exc:
            raise HTTPException(422, f"product {index}: {exc}") from exc
    store.upsert_products(session, rows)
    session.commit()
    return [ProductOut.model_validate(store.get_product(session, row["product_id"])) for row in rows]


def _product_or_404(session, product_id: str):
    product = store.get_product(session, product_id)
    if product is None:
        raise HTTPException(404, f"product {product_id!r} not found")
    return product


@router.get("/products/{product_id}", response_model=ProductOut, responses={404: {"model": Problem}})
def get_product(product_id: Text, session: SessionDep, caller: Reader) -> ProductOut:
    return ProductOut.model_validate(_product_or_404(session, product_id))


@router.get("/products/{product_id}/insights", responses={404: {"model": Problem}})
def insights(
    product_id: Text,
    session: SessionDep,
    caller: Reader,
    granularity: Literal["week", "month"] = Query("month", description="Period of the trend series."),
) -> dict:
    """Review count, average rating, sentiment distribution, net sentiment, the most praised and most
    criticised aspects (share and two quotes each) and a sentiment trend."""
    product = _product_or_404(session, product_id)
    result = product_insights(
        store.review_records(session, product_id=product_id), trend_granularity=granularity
    )
    return {"product_id": product.product_id, "name": product.name, "category": product.category, **result}
