"""The FastAPI application factory: ``create_app()`` (``reviewpulse serve`` runs it under uvicorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.config import Settings, get_settings
from api.db.migrate import upgrade
from api.db.session import make_engine, make_sessionmaker
from api.service import errors
from api.service.analysis import AnalysisService
from api.service.answering import AnswerService
from api.service.deps import KeyGuard
from api.service.routes import (
    analyze,
    answer,
    health,
    products,
    recommendations,
    reports,
    reviews,
    topics,
    widget,
)
from api.service.suggestions import SuggestionService
from nlp.artifacts.base_models import stay_offline

DESCRIPTION = """Customer-review analysis, review store, product insights and brand-manager reports.

Send an API key in the `X-API-Key` header (`reviewpulse apikey create --role reader|writer|admin`).
Errors are `application/problem+json` (RFC 9457)."""


class BodyTooLargeError(HTTPException):
    """The request body exceeded ``limit`` bytes: a 413 problem. An ``HTTPException``, so that FastAPI's
    body parsing passes it on as it is (it turns any other error while reading a body into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimitMiddleware:
    """Rejects bodies over ``limit`` bytes: at once by ``Content-Length``, else while reading (chunked)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            response = errors.problem(413, f"request body over {self.limit} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLargeError(self.limit)
            return message

        await self.app(scope, limited, send)


#: Content-Security-Policy of HTML pages that set none: the API docs, whose scripts and styles are served
#: by this app (fastapi-offline) and started by an inline script; ReDoc runs a worker from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """``X-Content-Type-Options: nosniff`` on every response, and :data:`DOCS_CSP` on HTML responses that
    carry no Content-Security-Policy of their own (the HTML report sets a stricter one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", DOCS_CSP)
            await send(message)

        await self.app(scope, receive, secured)


class Metrics:
    """Prometheus metrics in a registry of this app's own (so several apps can live in one process):
    ``reviewpulse_requests_total`` by method, route template and status, ``reviewpulse_request_seconds`` by
    method and route (both observed by prometheus-fastapi-instrumentator's ASGI middleware; a path that
    matches no route is ``none``), and ``reviewpulse_documents_analysed_total``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reviewpulse_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reviewpulse_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.documents = Counter(
            "reviewpulse_documents_analysed_total", "Documents analysed", registry=self.registry
        )

    def observe(self, info: metrics.Info) -> None:
        """Count one finished request and observe its latency (an instrumentation of the instrumentator)."""
        self.requests.labels(info.method, info.modified_handler, info.modified_status).inc()
        self.latency.labels(info.method, info.modified_handler).observe(info.modified_duration)

    def instrument(self, app: FastAPI) -> None:
        """Add the middleware that observes every HTTP request of ``app`` into these metrics."""
        instrumentator = Instrumentator(should_group_status_codes=False, registry=self.registry)
        instrumentator.add(self.observe).instrument(app)


def create_app(settings: Settings | None = None, analysis: AnalysisService | None = None) -> FastAPI:
    """Build the app. The database is migrated and the latest models are loaded at start-up (lifespan).

    Args:
        settings: defaults to :func:`api.core.config.get_settings` (``REVIEWPULSE_*`` variables).
        analysis: defaults to an :class:`api.service.analysis.AnalysisService` over the registered models.
    """
    stay_offline()  # before the lifespan loads the models (huggingface_hub reads it once, on import)
    settings = settings or get_settings()
    engine = make_engine(settings.db_url)
    sessionmaker = make_sessionmaker(engine)
    service = analysis or AnalysisService()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(settings.db_url)
        await service.start()
        await app.state.answers.start()
        yield
        await service.stop()
        engine.dispose()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files of the fastapi-offline
    # package (MIT), served under /static-offline-docs, not from a CDN
    app = FastAPIOffline(title="ReviewPulse", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker
    app.state.analysis = service
    app.state.suggestions = SuggestionService()
    app.state.answers = AnswerService(knowledge_base=settings.knowledge_base)
    app.state.key_guard = KeyGuard(sessionmaker, settings.rate_limit_per_minute)
    app.state.metrics = Metrics()

    errors.install(app)
    app.state.metrics.instrument(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    for module in (health, analyze, answer, reviews, products, topics, reports, recommendations, widget):
        app.include_router(module.router)
    return app
