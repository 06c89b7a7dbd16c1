"""``POST /v1/analyze``: batch analysis in the shape of Azure AI Language / AWS Comprehend batch calls."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request

from api.service.analysis import UnknownModelVersionError
from api.service.deps import Reader
from api.service.errors import JSONRoute
from api.service.schemas import AnalyzeRequest, AnalyzeResponse, DocumentError, DocumentResult, Problem
from nlp.analysis.analyzer import AnalysisError

router = APIRouter(prefix="/v1", tags=["analysis"], route_class=JSONRoute)


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    responses={400: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}},
)
async def analyze(
    body: AnalyzeRequest,
    request: Request,
    caller: Reader,
    model_version: str = Query("latest", description="A registered sentiment model version, or latest."),
) -> AnalyzeResponse:
    """Analyse up to 100 documents: sentiment per document and sentence, aspects with opinions, topics.

    One bad document (empty, too long, duplicate id) is reported in ``errors`` and never fails the others.
    """
    settings = request.app.state.settings
    if len(body.documents) > settings.analyze_max_documents:
        raise HTTPException(
            413, f"at most {settings.analyze_max_documents} documents per request; got {len(body.documents)}"
        )
    errors: list[DocumentError] = []
    accepted, seen = [], set()
    for doc in body.documents:
        if doc.id in seen:
            errors.append(DocumentError(id=doc.id, code="duplicate_id", message="document id used twice"))
        elif len(doc.text) > settings.analyze_max_chars:
            message = f"text has {len(doc.text)} characters; the limit is {settings.analyze_max_chars}"
            errors.append(DocumentError(id=doc.id, code="text_too_long", message=message))
        else:
            accepted.append(doc)
        seen.add(doc.id)
    try:
        version, analyses = await request.app.state.analysis.analyze(
            [d.text for d in accepted], body.options.redact_pii, model_version
        )
    except UnknownModelVersionError as exc:
        raise HTTPException(400, str(exc)) from exc
    request.app.state.metrics.documents.inc(len(accepted))
    results = []
    for doc, analysis in zip(accepted, analyses, strict=True):
        if isinstance(analysis, AnalysisError):
            errors.append(DocumentError(id=doc.id, code=analysis.code, message=analysis.message))
            continue
        text = analysis.text if body.options.include_text else None
        results.append(DocumentResult.model_validate({"id": doc.id, "text": text, **analysis.to_dict()}))
    return AnalyzeResponse(model_version=version, results=results, errors=errors)
