"""Latency of ``POST /v1/analyze`` for one document per request, served by ``reviewpulse serve`` on loopback,
at 1 and at 8 concurrent clients: the registered default model against sentiment v5 (``?model_version=5``,
the accurate, slow model) in the same run, and against two server processes. Goal: p99 at most 150 ms for one
document at 8 clients. Also ``POST /v1/answer`` for one question (goal: p99 at most 150 ms).

Run on demand: ``make bench`` (prints p50 / p99 in ms and the ratios; asserts nothing about speed).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np

from nlp.intents.classifier import NATURAL_SETS, labelled_questions
from tests.bench.bench_scoring import _texts
from tests.live import api_server

REQUESTS = 160


async def _latencies(server: dict, texts: list[str], clients: int, version: str) -> np.ndarray:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)
    seconds: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            text = queue.get_nowait()
            started = time.perf_counter()
            response = await http.post(
                "/v1/analyze",
                params={"model_version": version},
                json={"documents": [{"id": "1", "text": text}]},
            )
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=server["base"], headers=server["headers"], timeout=120) as http:
        await http.post(
            "/v1/analyze", params={"model_version": version}, json={"documents": [{"text": texts[0]}]}
        )
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return np.asarray(seconds) * 1000


def test_analyze_latency(server):
    texts = _texts(REQUESTS)
    print(f"\nPOST /v1/analyze, one clothing review per request, {REQUESTS} requests per row (ms):")
    for clients in (1, 8):
        figures = {}
        for version in ("latest", "5"):
            sample = texts if version == "latest" else texts[: REQUESTS // 4]  # v5 is 20-30x slower
            ms = asyncio.run(_latencies(server, sample, clients, version))
            figures[version] = np.percentile(ms, [50, 99])
            p50, p99 = figures[version]
            print(f"  {clients} client(s), model {version:<6}  p50 {p50:7.1f}   p99 {p99:7.1f}")
        ratio = figures["5"] / figures["latest"]
        print(f"  {clients} client(s): v5 / default = p50 {ratio[0]:.1f}x, p99 {ratio[1]:.1f}x")


def test_analyze_latency_in_two_processes(server, tmp_path):
    """The default model at 8 clients, ``serve --workers 2`` against one process (the ``server`` fixture)."""
    texts = _texts(REQUESTS)
    with api_server(tmp_path, workers=2) as two:
        asyncio.run(_latencies(two, texts[:32], 8, "latest"))  # both processes warm
        figures = {
            workers: np.percentile(asyncio.run(_latencies(live, texts, 8, "latest")), [50, 99])
            for workers, live in ((1, server), (2, two))
        }
    print(f"\nPOST /v1/analyze, default model, 8 clients, {REQUESTS} requests (ms):")
    for workers, (p50, p99) in figures.items():
        print(f"  {workers} process(es)  p50 {p50:7.1f}   p99 {p99:7.1f}")
    ratio = figures[1] / figures[2]
    print(f"  one process / two = p50 {ratio[0]:.2f}x, p99 {ratio[1]:.2f}x")


def test_answer_latency(server):
    """``POST /v1/answer`` for one natural question per request at 1 client (issue 24's goal: p99 at most
    150 ms), beside ``GET /healthz`` in the same run: the floor of the HTTP round trip and the serving stack."""
    questions = labelled_questions(NATURAL_SETS["natural-dev"])["text"].tolist()

    async def latencies(send) -> np.ndarray:
        seconds = []
        async with httpx.AsyncClient(base_url=server["base"], headers=server["headers"], timeout=60) as http:
            await send(http, questions[0])  # the intent model loads on first use
            for question in questions:
                started = time.perf_counter()
                (await send(http, question)).raise_for_status()
                seconds.append(time.perf_counter() - started)
        return np.asarray(seconds) * 1000

    answer = asyncio.run(latencies(lambda http, q: http.post("/v1/answer", json={"question": q})))
    health = asyncio.run(latencies(lambda http, q: http.get("/healthz")))
    print(f"\n{len(questions)} natural questions, one per request, 1 client (ms):")
    for name, ms in (("POST /v1/answer", answer), ("GET /healthz (floor)", health)):
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"  {name:<22} p50 {p50:7.1f}   p99 {p99:7.1f}")
    ratio = np.percentile(answer, 99) / np.percentile(health, 99)
    print(f"  answer / floor: p99 {ratio:.1f}x")
