"""``GET /v1/reports/sentiment``: the brand manager's report as JSON, CSV or one HTML page with charts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api import store
from api.db.records import clean
from api.reporting.html import report_html
from api.reporting.spreadsheet import report_csv
from api.service.deps import Reader, SessionDep
from api.service.errors import JSONRoute
from api.service.schemas import DateOrInstant, Problem, Text, check_date_range
from nlp.insights.report import sentiment_report

router = APIRouter(prefix="/v1", tags=["reports"], route_class=JSONRoute)
#: Content-Security-Policy of the HTML report.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)


@router.get(
    "/reports/sentiment",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}},
        404: {"model": Problem},
        422: {"model": Problem},
    },
)
def sentiment(
    session: SessionDep,
    caller: Reader,
    product_id: Text | None = None,
    category: Text | None = None,
    date_from: DateOrInstant | None = Query(
        None, alias="from", description="An ISO 8601 date (UTC) or date-time."
    ),
    date_to: DateOrInstant | None = Query(
        None, alias="to", description="Inclusive; a date includes its whole day (UTC)."
    ),
    granularity: Literal["week", "month"] = "week",
    format: Literal["json", "csv", "html"] = "json",
) -> Response:
    """Scorecards, trend per period, drivers (aspects and topics that pull sentiment up or down), verbatim
    quotes and the filters applied. ``format=csv`` is safe to open in a spreadsheet; ``format=html`` is
    one self-contained page. ``product_id`` and ``category`` are trimmed; an unknown ``product_id`` is a 404, a
    ``from`` after ``to`` a 422, and a category no product has gives a report of no reviews."""
    product_id, category = clean(product_id), clean(category)
    check_date_range(date_from, date_to)
    if product_id is not None and store.get_product(session, product_id) is None:
        raise HTTPException(404, f"product_id: product {product_id!r} not found")
    filters = {"product_id": product_id, "category": category, "from": date_from, "to": date_to,
               "granularity": granularity}  # fmt: skip
    records = store.review_records(
        session, product_id=product_id, category=category, date_from=date_from, date_to=date_to
    )
    report = sentiment_report(records, granularity=granularity, filters=filters)
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="sentiment-report.csv"'}
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    if format == "html":  # inline styles and SVG only: the page may run no script and load nothing
        return HTMLResponse(report_html(report), headers={"Content-Security-Policy": REPORT_CSP})
    return JSONResponse(jsonable_encoder(report))
