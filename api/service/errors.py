"""Errors as ``application/problem+json`` (RFC 9457), never with a stack trace."""

from __future__ import annotations

import email.message
import json
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
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


def _error(error: dict, body: object) -> dict[str, str]:
    """One entry of a 422 problem's ``errors``: the field and what is wrong with it."""
    loc = tuple(error["loc"])
    if error["type"] == "json_invalid" and loc[:1] == ("body",) and isinstance(body, str):
        # FastAPI's error for a body that json.loads refused: loc is ("body", position), body the document
        position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        line, column = body.count("\n", 0, position) + 1, position - body.rfind("\n", 0, position)
        reason = error.get("ctx", {}).get("error", error["msg"])
        return {"field": "body", "message": f"not valid UTF-8 JSON at line {line}, column {column}: {reason}"}
    return {"field": _field(loc), "message": error["msg"]}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_error(e, exc.body) for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, f"invalid request: {detail}", errors=errors)


def _is_json(content_type: str) -> bool:
    """Whether a Content-Type is JSON: ``application/json`` or ``application/*+json`` (parameters aside)."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JSONRequest(Request):
    """A request whose JSON body is read as UTF-8 (RFC 8259 section 8.1; a leading byte order mark is
    ignored). Bytes that are not UTF-8 raise ``json.JSONDecodeError`` at their position, like any other body
    that is not JSON, so FastAPI reports them as the body's validation error (see :func:`_error`), not as a
    bare 400; so does a document nested deeper than the parser's recursion limit. (``json.loads`` on bytes would also take UTF-16 and UTF-32, and lone surrogates.)"""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                text = body.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                valid = body[: exc.start].decode("utf-8-sig")
                document = valid + body[exc.start :].decode("utf-8", "replace")
                raise json.JSONDecodeError(
                    f"bytes that are not UTF-8 ({exc.reason})", document, len(valid)
                ) from exc
            try:
                self._json = json.loads(text)
            except RecursionError:  # no request body of ours nests deeper than a few levels
                raise json.JSONDecodeError("arrays or objects nested too deeply", text, 0) from None
        return self._json


class JSONRoute(APIRoute):
    """A path operation with a JSON body: a body of another media type, or one sent without a Content-Type,
    is a 415 problem (FastAPI would validate its bytes: a 422 about the wrong thing), and the body is read by
    :class:`JSONRequest`. Every router of the API uses it (``APIRouter(route_class=JSONRoute)``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler

        async def json_body(request: Request) -> Response:
            request = JSONRequest(request.scope, request.receive)
            content_type = request.headers.get("content-type")
            # without a Content-Type, only an empty body passes (FastAPI's 422 then says the body is missing)
            if (content_type is None and await request.body()) or (
                content_type is not None and not _is_json(content_type)
            ):
                got = f"Content-Type {content_type}" if content_type else "no Content-Type"
                raise HTTPException(
                    415,
                    f"the body must be JSON (application/json); got {got}",
                    headers={"Accept": "application/json"},
                )
            return await handler(request)

        return json_body


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
