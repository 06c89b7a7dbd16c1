"""Errors as ``application/problem+json`` (RFC 9457), never with a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("reviewpulse.api")


def problem(
    status: int, detail: str | None = None, headers: dict | None = None, **extra: object
) -> JSONResponse:
    """A problem-details response: ``type``, ``title`` (the status phrase), ``status``, ``detail`` and extras."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        exc.status_code, str(exc.detail) if exc.detail else None, headers=getattr(exc, "headers", None)
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, f"invalid request: {detail}", errors=errors)


INTERNAL_ERROR = "internal error; the server log has the details"


class UnexpectedErrorMiddleware:
    """Answers an unhandled exception of the app with a 500 problem (logged once, with its traceback) and
    ends the exchange there, so the client's keep-alive connection stays usable. (Starlette's own last-resort
    handler re-raises after responding, and uvicorn then drops the connection.) An exception after the
    response has started is re-raised: the server can only close the connection then."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await problem(500, INTERNAL_ERROR)(scope, receive, send)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Last resort, for errors outside UnexpectedErrorMiddleware (in an outer middleware): the server drops
    # the connection after this response, so the client is told not to reuse it.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, INTERNAL_ERROR, headers={"Connection": "close"})


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``, and :class:`UnexpectedErrorMiddleware` (call this
    before adding other middleware, so that it runs inside them: they see its 500 as a response)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(UnexpectedErrorMiddleware)
