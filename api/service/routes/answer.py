"""``POST /v1/answer``: a customer question -> intent, entities and the answer (the chat assistant's call)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from api.db.session import begin_read
from api.service.answering import AnswerUnavailableError
from api.service.deps import Reader, SessionDep
from api.service.errors import JSONRoute
from api.service.schemas import AnswerOut, AnswerRequest, Problem

router = APIRouter(prefix="/v1", tags=["answers"], route_class=JSONRoute)


@router.post(
    "/answer", response_model=AnswerOut, responses={404: {"model": Problem}, 503: {"model": Problem}}
)
async def answer(body: AnswerRequest, request: Request, session: SessionDep, caller: Reader) -> AnswerOut:
    """The question's intent (with the top-5 ranking and an out-of-scope flag), entities found in it, and an
    answer from the knowledge base with placeholders filled from ``context`` and the entities. With
    ``context.product_id``, a question about the product ("does it run small?") is answered from its reviews
    (intent ``product_question``). An unknown ``context.product_id`` is a 404."""
    begin_read(session)  # answering only reads the store
    context = body.context.model_dump() if body.context else {}
    try:
        result = await request.app.state.answers.answer(
            body.question.strip(), context, session, request.app.state.analysis
        )
    except AnswerUnavailableError as exc:
        raise HTTPException(503, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(404, f"context.product_id: {exc}") from exc
    return AnswerOut.model_validate(result | {"session_id": body.session_id})
