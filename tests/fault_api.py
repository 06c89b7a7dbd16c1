"""A faulty stand-in for the ReviewPulse API, served by uvicorn on loopback in the chat assistant's fault
tests: every ``/v1/...`` request is answered slowly (``slow``: after 10 s), with a 500 (``error``), or with a
200 whose JSON is not what the API sends (``garbage``).

``PUT /_mode/{mode}`` switches the mode; ``GET /_hits`` returns and clears the ``"METHOD /path"`` counts.

    python -m uvicorn tests.fault_api:app --host 127.0.0.1 --port 8765
"""

from __future__ import annotations

import asyncio
from collections import Counter

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SLOW_SECONDS = 10.0

app = FastAPI()
state: dict = {"mode": "error", "hits": Counter()}


@app.put("/_mode/{mode}")
async def set_mode(mode: str) -> dict:
    if mode not in ("slow", "error", "garbage"):
        return JSONResponse({"detail": f"unknown mode {mode!r}"}, status_code=400)  # type: ignore[return-value]
    state["mode"] = mode
    return {"mode": mode}


@app.get("/_hits")
async def hits() -> dict:
    counts = dict(state["hits"])
    state["hits"].clear()
    return counts


@app.api_route("/v1/{path:path}", methods=["GET", "POST"])
async def faulty(request: Request, path: str) -> JSONResponse:
    state["hits"][f"{request.method} /v1/{path}"] += 1
    if state["mode"] == "slow":
        await asyncio.sleep(SLOW_SECONDS)
        return JSONResponse({"detail": "too late"})
    if state["mode"] == "garbage":
        return JSONResponse(["not", "an", "object"])
    return JSONResponse(
        {"type": "about:blank", "title": "Internal Server Error", "status": 500}, status_code=500
    )
