"""The action server's API client without a server: one shared ``httpx.AsyncClient``, one retry of a read
after a transient failure (tenacity), none of a write or of a request the API refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from chatbot.actions.api_client import ApiError, ReviewPulseClient, shared_http

Handler = Callable[[httpx.Request], httpx.Response]


def answering(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A transport handler giving ``responses`` in turn (an exception is raised), and the requests seen."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        answer = responses[len(seen)]
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def call(handler: Handler, method: str, *args, **kwargs):
    async def run():
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with http:
            client = ReviewPulseClient("http://api.test", api_key="k", http=http)
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(run())


def test_one_client_per_event_loop_is_shared_by_every_call():
    handler, seen = answering(httpx.Response(200, json={"product_id": "A"}), httpx.Response(200, json={}))

    async def two_calls() -> httpx.AsyncClient:
        http = shared_http()
        assert shared_http() is http
        http._transport = httpx.MockTransport(handler)  # the shared client, answered without a network
        await ReviewPulseClient("http://api.test", api_key="k").product("A")
        await ReviewPulseClient("http://api.test", api_key="k").insights("A")
        await http.aclose()
        return http

    first = asyncio.run(two_calls())
    assert [r.url.path for r in seen] == ["/v1/products/A", "/v1/products/A/insights"]
    assert all(r.headers["X-API-Key"] == "k" for r in seen)

    async def the_client() -> httpx.AsyncClient:
        return shared_http()

    assert asyncio.run(the_client()) is not first  # a client cannot move to another event loop


@pytest.mark.parametrize(
    "failure", [httpx.Response(503, text="down"), httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]
)
def test_a_read_is_retried_once_after_a_transient_failure(failure):
    handler, seen = answering(failure, httpx.Response(200, json={"intent": "track_order"}))
    assert call(handler, "answer", "where is my order?") == {"intent": "track_order"}
    assert len(seen) == 2

    handler, seen = answering(failure, failure)
    with pytest.raises(ApiError) as raised:
        call(handler, "product", "A")
    assert len(seen) == 2
    assert raised.value.status == (503 if isinstance(failure, httpx.Response) else None)


def test_a_write_is_never_retried():
    handler, seen = answering(httpx.Response(500), httpx.Response(201, json={}))
    with pytest.raises(ApiError) as raised:
        call(handler, "submit_review", {"product_id": "A", "text": "Great."})
    assert raised.value.status == 500 and len(seen) == 1


@pytest.mark.parametrize(
    "answer", [httpx.Response(404, text="no such product"), httpx.Response(200, text="<html>")]
)
def test_a_refused_request_or_a_body_that_is_not_json_is_not_retried(answer):
    handler, seen = answering(answer, httpx.Response(200, json={}))
    with pytest.raises(ApiError) as raised:
        call(handler, "product", "A/B")
    assert len(seen) == 1 and raised.value.status == answer.status_code
    assert seen[0].url.raw_path == b"/v1/products/A%2FB"


def test_the_time_limit_holds_for_each_attempt():
    async def run() -> float:
        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return httpx.Response(200, json={})

        async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
            client = ReviewPulseClient("http://api.test", api_key="k", timeout=0.2, http=http)
            started = asyncio.get_running_loop().time()
            with pytest.raises(ApiError):
                await client.product("A")
            return asyncio.get_running_loop().time() - started

    assert asyncio.run(run()) < 1.5  # two attempts of 0.2 s and the pause, not 5 s
