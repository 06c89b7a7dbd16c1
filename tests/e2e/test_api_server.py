"""The service as deployed: ``reviewpulse serve`` under uvicorn on loopback (the ``server`` fixture of
``conftest.py``), keys from the CLI, real HTTP."""

from __future__ import annotations

import contextlib
import csv
import http.client
import itertools
import json
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from api.core.config import Settings
from api.service.analysis import AnalysisService
from api.service.app import create_app
from tests.chromium import ARTIFACTS, needs_chromium, run_chromium
from tests.conftest import EXAMPLES
from tests.live import BIN, api_server, cli, free_port, store_env

CLIENTS, INGESTS_PER_CLIENT, DUPLICATE_EVERY = 8, 30, 5


def test_concurrent_ingest_stores_exactly_what_was_acknowledged(server):
    base, headers = server["base"], server["headers"]
    product = {"product_id": "P-1", "name": "Merino jumper", "category": "Knitwear", "price": 79}
    assert httpx.post(f"{base}/v1/products", json=product, headers=headers).status_code == 201
    texts = [
        "So soft and warm, love it.",
        "Itchy wool and it shrank.",
        "Fits true to size.",
        "Colour faded fast.",
    ]

    def client(n: int) -> list[tuple[str, int]]:
        acknowledged = []
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for i in range(INGESTS_PER_CLIENT):
                # every fifth review is sent by two clients: it must be stored once
                key = f"shared-{i}" if i % DUPLICATE_EVERY == 0 else f"c{n}-{i}"
                body = {"product_id": "P-1", "text": texts[(n + i) % 4], "source": "load", "external_id": key}
                response = http.post("/v1/reviews", json=body)
                acknowledged.append((key, response.status_code))
        return acknowledged

    healthz_ok = []
    with ThreadPoolExecutor(CLIENTS + 1) as pool:
        futures = [pool.submit(client, n) for n in range(CLIENTS)]
        while not all(f.done() for f in futures):  # the event loop stays responsive during model work
            healthz_ok.append(httpx.get(f"{base}/healthz", timeout=5).status_code == 200)
            time.sleep(0.2)
        results = [r for f in futures for r in f.result()]
    assert all(code in (200, 201) for _, code in results), {code for _, code in results}
    assert healthz_ok and all(healthz_ok)
    acknowledged = {key for key, _ in results}
    stored, cursor = [], None
    while True:
        params = {"product_id": "P-1", "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/v1/reviews", params=params, headers=headers).json()
        stored += [r["external_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(stored) == sorted(acknowledged)  # each acknowledged review exactly once


def test_real_http_errors_are_problem_json(server):
    base = server["base"]
    response = httpx.post(
        f"{base}/v1/analyze",
        content=b"{broken",
        headers={**server["headers"], "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text
    assert httpx.get(f"{base}/v1/topics").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_schemathesis_finds_no_server_errors(db_url, tmp_path):
    """Schemathesis over the OpenAPI schema, on each store: examples, coverage and fuzzing of each
    operation, then its stateful phase, which chains calls by the links it infers from the schema (a
    product created, then fetched, reviewed, listed and reported on)."""
    st = str(BIN / "st") if (BIN / "st").exists() else shutil.which("st")
    if st is None:
        pytest.fail(
            "schemathesis (its `st` command) is not installed: pip install -e '.[dev]'", pytrace=False
        )
    data = tmp_path / "data"
    data.mkdir()
    with api_server(data, db_url) as live:
        done = subprocess.run(
            [st, "run", f"{live['base']}/openapi.json", "--checks", "not_a_server_error",
             "--header", f"X-API-Key: {live['headers']['X-API-Key']}", "--max-examples", "15"],
            capture_output=True, text=True, timeout=1500, env=live["env"],
        )  # fmt: skip
        server_log = (data / "server.log").read_text()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:] + server_log[-3000:]
    assert "API Links:" in done.stdout, done.stdout[-3000:]  # the stateful phase ran


@needs_chromium
def test_served_html_report_renders_charts_in_chromium(server, tmp_path):
    response = httpx.get(
        f"{server['base']}/v1/reports/sentiment",
        params={"format": "html"},
        headers=server["headers"],
        timeout=60,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = tmp_path / "report.html"
    page.write_text(response.text, encoding="utf-8")
    dom = run_chromium(["--dump-dom", page.as_uri()], tmp_path).stdout
    assert dom.count('aria-roledescription="bar"') > 3 and "<svg" in dom  # charts drawn from stored reviews
    shot = ARTIFACTS / "api-report.png"
    shot.parent.mkdir(exist_ok=True)
    run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000


@contextmanager
def _serving(app) -> Iterator[int]:
    """``app`` under uvicorn on a free loopback port, in a thread; yields the port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 120
        while not server.started:
            assert thread.is_alive() and time.time() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield server.config.port
    finally:
        server.should_exit = True
        thread.join(30)


def test_after_a_500_the_keep_alive_connection_still_works(tmp_path, analyzer):
    """A client reusing its connection after a 500 gets its next answer (the server must not reset the
    connection it kept alive, or must say ``Connection: close``)."""
    app = create_app(Settings(data_dir=tmp_path), AnalysisService(factory=lambda version, topics: analyzer))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected bug")

    with _serving(app) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(3):
                connection.request("GET", "/boom")
                failed = connection.getresponse()
                body = json.loads(failed.read())
                assert failed.status == 500 and failed.getheader("content-type") == "application/problem+json"
                assert body["status"] == 500 and "unexpected bug" not in json.dumps(body)
                connection.request("GET", "/healthz")  # on the same connection unless told to close
                ok = connection.getresponse()
                assert ok.status == 200 and json.loads(ok.read()) == {"status": "ok"}
        finally:
            connection.close()


def test_the_api_keeps_answering_during_a_bulk_load(server, tmp_path):
    """The drill of issue 25: ``reviewpulse load reviews`` runs against the served SQLite store while
    clients read and ingest; every request succeeds (no "database is locked", no reset connection)."""
    base, headers, env = server["base"], server["headers"], server["env"]
    cli(env, "load", "products", str(EXAMPLES.parent / "products.csv"), "--quiet")
    log = tmp_path / "load.log"
    with open(log, "w") as out:
        loader = subprocess.Popen(
            [str(BIN / "reviewpulse"), "load", "reviews", str(EXAMPLES), "--product-col", "product_id",
             "--text-col", "text", "--title-col", "title", "--rating-col", "rating",
             "--external-id-col", "review_id", "--source", "bulk", "--chunk-size", "8", "--quiet"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        outcomes: Counter[str] = Counter()
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for i in itertools.count():
                if loader.poll() is not None:
                    break
                review = {
                    "product_id": "DRS-101",
                    "text": "Soft and warm.",
                    "source": "drill",
                    "external_id": str(i),
                }
                for method, path, body in [("GET", "/v1/reviews?limit=5", None),
                                           ("GET", "/v1/products/DRS-101/insights", None),
                                           ("POST", "/v1/reviews", review)]:  # fmt: skip
                    try:
                        outcomes[str(http.request(method, path, json=body).status_code)] += 1
                    except httpx.TransportError as exc:
                        outcomes[type(exc).__name__] += 1
    assert loader.wait() == 0, log.read_text()[-3000:]
    assert outcomes["200"] > 0 and set(outcomes) <= {"200", "201"}, outcomes
    stored = re.search(r"stored: (\d+)", log.read_text())
    assert stored and int(stored.group(1)) > 40, log.read_text()[-3000:]


def _stored_ids(base: str, headers: dict, product_id: str) -> list[str]:
    """The external ids of every stored review of ``product_id``, paging through ``GET /v1/reviews``."""
    stored, cursor = [], None
    while True:
        params = {"product_id": product_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/v1/reviews", params=params, headers=headers, timeout=60).json()
        stored += [r["external_id"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            return stored


def test_acknowledged_writes_survive_a_sigkill_of_the_server(tmp_path):
    """Fault drill: the server is killed (SIGKILL) while clients ingest; after a restart every review that
    was acknowledged is there, once."""
    data = tmp_path / "data"
    acknowledged: list[str] = []
    with api_server(data) as live:
        base, headers = live["base"], live["headers"]
        product = {"product_id": "K-1", "name": "Wool hat"}
        assert httpx.post(f"{base}/v1/products", json=product, headers=headers).status_code == 201

        def client(n: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for i in itertools.count():
                    body = {
                        "product_id": "K-1",
                        "text": "Warm and soft.",
                        "source": "kill",
                        "external_id": f"{n}-{i}",
                    }
                    try:
                        response = http.post("/v1/reviews", json=body)
                    except httpx.TransportError:
                        return  # the server is gone
                    if response.status_code in (200, 201):
                        acknowledged.append(body["external_id"])

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(client, n) for n in range(4)]
            deadline = time.time() + 120
            while len(acknowledged) < 20 and time.time() < deadline:
                time.sleep(0.05)
            live["process"].kill()
            for future in futures:
                future.result()
    assert len(acknowledged) >= 20
    with api_server(data) as again:
        stored = _stored_ids(again["base"], again["headers"], "K-1")
    assert len(stored) == len(set(stored))  # nothing twice
    assert set(acknowledged) <= set(stored)  # nothing acknowledged is lost


def test_a_bulk_load_killed_midway_and_resumed_stores_each_row_once(tmp_path):
    """Fault drill: ``reviewpulse load reviews`` is killed (SIGKILL) after some chunks; running it again
    stores the rest, and every row is stored exactly once."""
    data = tmp_path / "data"
    env = store_env(data)
    cli(env, "load", "products", str(EXAMPLES.parent / "products.csv"), "--quiet")
    command = [str(BIN / "reviewpulse"), "load", "reviews", str(EXAMPLES), "--product-col", "product_id",
               "--text-col", "text", "--external-id-col", "review_id", "--source", "bulk", "--chunk-size", "8",
               "--quiet"]  # fmt: skip

    def stored() -> list[str]:
        with contextlib.closing(sqlite3.connect(data / "reviewpulse.db")) as db:
            return [row[0] for row in db.execute("SELECT external_id FROM reviews WHERE source = 'bulk'")]

    loader = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(stored()) < 8 and loader.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    loader.kill()
    loader.wait()
    first = stored()
    assert 8 <= len(first) < 40, len(first)  # killed midway
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"duplicates: {len(first)}" in done.stderr, done.stderr[-1000:]
    final = stored()
    assert len(final) == len(set(final)) and set(first) <= set(final)
    with open(EXAMPLES, encoding="utf-8") as fh:
        rows = {r["review_id"] for r in csv.DictReader(fh) if (r["text"] or "").strip()}
    assert set(final) == rows  # every row with a text, once
