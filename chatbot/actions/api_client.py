"""The one client the actions use to call the ReviewPulse API.

Every call is a request to ``REVIEWPULSE_API_URL`` with the key from ``REVIEWPULSE_API_KEY`` (header
``X-API-Key``), bounded by :data:`TIMEOUT_SECONDS` per attempt, through one ``httpx.AsyncClient`` shared by
all the actions of the process (one connection pool, kept alive between calls; one per event loop, since a
client cannot move between loops). Idempotent reads (``GET`` and ``POST /v1/answer``, which changes
nothing) are retried once (tenacity) after a connection error, a timeout or a 5xx; writes are not. Failures
raise :class:`ApiError`, which the actions turn into a polite message, so nothing ever reaches Rasa as an
exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_fixed

logger = logging.getLogger(__name__)

API_URL_ENV = "REVIEWPULSE_API_URL"
API_KEY_ENV = "REVIEWPULSE_API_KEY"
DEFAULT_API_URL = "http://localhost:8000"
#: Upper bound, in seconds, of one attempt (connect, send, wait and read together).
TIMEOUT_SECONDS = 3.0
#: Pause, in seconds, before the one retry of an idempotent read.
RETRY_DELAY_SECONDS = 0.2

_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def shared_http() -> httpx.AsyncClient:
    """The process's ``httpx.AsyncClient`` for the running event loop, made on first use."""
    loop = asyncio.get_running_loop()
    if loop not in _SHARED:
        _SHARED[loop] = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
    return _SHARED[loop]


class ApiError(Exception):
    """The API could not be reached, was too slow, or answered with an error status.

    Attributes:
        status: the HTTP status code, or None when no response arrived (connection error, timeout).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ReviewPulseClient:
    """Calls the ReviewPulse API endpoints the assistant needs.

    Args:
        base_url: the API's address; default ``$REVIEWPULSE_API_URL``, else ``http://localhost:8000``.
        api_key: default ``$REVIEWPULSE_API_KEY``. Reads need the reader role, feedback the writer role.
        timeout: seconds per attempt, at most :data:`TIMEOUT_SECONDS`.
        http: the ``httpx.AsyncClient`` to send with; default :func:`shared_http`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        self.timeout = min(timeout, TIMEOUT_SECONDS)
        self.http = http

    async def answer(
        self,
        question: str,
        session_id: str | None = None,
        order_id: str | None = None,
        product_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/answer``: intent, confidence, ``out_of_scope`` and the knowledge-base answer."""
        context = {"order_id": order_id, "product_id": product_id}
        body = {"question": question[:2000], "session_id": session_id, "context": context}
        return await self._request("POST", "/v1/answer", json=body, idempotent=True)

    async def product(self, product_id: str) -> dict[str, Any]:
        """``GET /v1/products/{id}``: the catalogue entry (:class:`ApiError` with status 404 if unknown)."""
        return await self._request("GET", f"/v1/products/{_segment(product_id)}", idempotent=True)

    async def insights(self, product_id: str) -> dict[str, Any]:
        """``GET /v1/products/{id}/insights``: review count, rating, praised and criticised aspects."""
        return await self._request("GET", f"/v1/products/{_segment(product_id)}/insights", idempotent=True)

    async def recommendations(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/recommendations`` with ``user_id``, ``product_id``, ``q``, ``category``,
        ``max_price``, ``k`` (None values are left out)."""
        query = {key: value for key, value in params.items() if value is not None}
        return await self._request("GET", "/v1/recommendations", params=query, idempotent=True)

    async def submit_review(self, review: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/reviews``: store one review; the response carries its analysed sentiment."""
        return await self._request("POST", "/v1/reviews", json=review, idempotent=False)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
    ) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(2 if idempotent else 1),
            wait=wait_fixed(RETRY_DELAY_SECONDS),
            retry=retry_if_exception(_transient),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(method, path, json, params)
        raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover

    async def _attempt(self, method: str, path: str, json: Any, params: dict[str, Any] | None) -> Any:
        """One request: the decoded JSON body of a status below 400, else :class:`ApiError`."""
        http = self.http or shared_http()
        headers = {"X-API-Key": self.api_key, "Accept": "application/json"}
        url = f"{self.base_url}{path}"
        try:
            response = await asyncio.wait_for(
                http.request(method, url, json=json, params=params, headers=headers, timeout=self.timeout),
                self.timeout,
            )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise ApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            message = f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}"
            raise ApiError(message, response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(f"{method} {path}: invalid JSON", response.status_code) from exc


def _transient(exc: BaseException) -> bool:
    """Worth one more try: no answer (connection error, timeout) or a server error (5xx). A 4xx or a
    successful answer that is not JSON would be the same again."""
    return isinstance(exc, ApiError) and (exc.status is None or exc.status >= 500)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning("ReviewPulse API call failed (attempt %d), retrying: %s", state.attempt_number, error)


def _segment(value: str) -> str:
    """``value`` quoted as one URL path segment (a product code may hold ``/`` or spaces)."""
    return quote(value, safe="")
