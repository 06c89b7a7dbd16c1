"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.db.session import begin_read
from api.service.errors import JSONRoute

router = APIRouter(tags=["operations"], route_class=JSONRoute)


@router.get("/healthz")
def healthz() -> dict:
    """The process is up (no model or database check: that is ``/readyz``)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> dict:
    """Models loaded and the database reachable; 503 otherwise."""
    checks = {"models": request.app.state.analysis.ready, "database": False}
    try:
        with request.app.state.sessionmaker() as session:
            begin_read(session)
            session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:  # any driver error means not ready
        checks["database"] = False
    if not all(checks.values()):
        raise HTTPException(503, f"not ready: {', '.join(k for k, ok in checks.items() if not ok)}")
    return {"status": "ready", **checks}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    if not request.app.state.settings.metrics_enabled:
        raise HTTPException(404, "metrics are turned off (REVIEWPULSE_METRICS_ENABLED=false)")
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
