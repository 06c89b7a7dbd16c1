"""Errors as ``application/problem+json`` (RFC 9457), never with a stack trace."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
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


def _internal_error(method: str, path: str, headers: dict | None = None) -> JSONResponse:
    """The 500 problem, without details; the exception being handled goes to the log with its traceback."""
    log.exception("unhandled error on %s %s", method, path)
    return problem(500, "internal error; the server log has the details", headers=headers)


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
            await _internal_error(scope["method"], scope["path"])(scope, receive, send)


#: Seconds a client is told to wait (``Retry-After``) when the database is unavailable.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached or is busy for now (worth a retry), not a bug:
    a connection refused or lost (PostgreSQL down or restarting), the connection pool exhausted, or SQLite's
    write lock not obtained within its busy timeout."""
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.OperationalError):  # also "no such table" and the like: those are bugs
        return "locked" in str(exc.orig) or "busy" in str(exc.orig)
    return isinstance(exc, sa_exc.OperationalError)  # psycopg: cannot connect, server closed the connection


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        raise exc  # a bug: UnexpectedErrorMiddleware answers 500
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        503,
        "the database is unavailable or busy; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Last resort, for errors outside UnexpectedErrorMiddleware (in an outer middleware): the server drops
    # the connection after this response, so the client is told not to reuse it.
    return _internal_error(request.method, request.url.path, {"Connection": "close"})


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``, and :class:`UnexpectedErrorMiddleware` (call this
    before adding other middleware, so that it runs inside them: they see its 500 as a response)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(UnexpectedErrorMiddleware)
