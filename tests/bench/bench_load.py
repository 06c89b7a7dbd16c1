"""Load test of the service while a bulk load runs: ``reviewpulse serve`` on loopback over SQLite and over
PostgreSQL, ``reviewpulse load reviews`` of 2,000 clothing reviews running in the background (the traffic
starts once its first chunk is stored), and 20 concurrent clients for 60 s sending mixed traffic: 70% reads
(review listings, product insights, sentiment reports), 20% ingests of one review, 10% analyses of one
document.

Goal (issue 25): 0 errors and 0 connection resets on both stores. Prints, per store and endpoint, the
requests, errors, resets, p50 and p99 in ms; asserts the errors and resets only (nothing about speed).
``REVIEWPULSE_BENCH_CLIENTS``, ``REVIEWPULSE_BENCH_SECONDS`` and ``REVIEWPULSE_BENCH_REVIEWS`` shrink it for
a quick trial. Run on demand: ``make bench``.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import os
import random
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import pytest

from nlp.artifacts.paths import nlp_settings
from tests.conftest import EXAMPLES
from tests.live import BIN, api_server, cli

CLIENTS = int(os.environ.get("REVIEWPULSE_BENCH_CLIENTS", "20"))
SECONDS = float(os.environ.get("REVIEWPULSE_BENCH_SECONDS", "60"))
REVIEWS = int(os.environ.get("REVIEWPULSE_BENCH_REVIEWS", "2000"))
#: Rows per chunk of the bulk load: small, so that it commits often while the clients run.
CHUNK = 32
#: Share of each kind of request in the traffic.
MIX = {"read": 0.7, "ingest": 0.2, "analyze": 0.1}


def _write_inputs(folder: Path) -> tuple[Path, Path, list[str], list[str]]:
    """Products and reviews CSVs for ``reviewpulse load`` (the clothing reviews, else the examples), and
    the product ids and texts the clients use."""
    clothing = nlp_settings().datasets_dir / "womens_clothing_reviews" / "womens_clothing_reviews.csv"
    rows = []
    if clothing.exists():
        with open(clothing, encoding="utf-8") as fh:
            for i, r in enumerate(itertools.islice(csv.DictReader(fh), REVIEWS)):
                rows.append({"review_id": str(i), "product_id": r["Clothing ID"], "category": r["Class Name"],
                             "title": r["Title"], "text": r["Review Text"], "rating": r["Rating"]})  # fmt: skip
    else:
        with open(EXAMPLES, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    products = sorted({(r["product_id"], r["category"]) for r in rows})
    products_csv, reviews_csv = folder / "products.csv", folder / "reviews.csv"
    with open(products_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["product_id", "name", "category"])
        writer.writerows((pid, f"Item {pid}", category) for pid, category in products)
    with open(reviews_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["review_id", "product_id", "title", "text", "rating"])
        writer.writeheader()
        writer.writerows({k: r[k] for k in writer.fieldnames} for r in rows)
    texts = [r["text"] for r in rows if (r["text"] or "").strip()]
    return products_csv, reviews_csv, [pid for pid, _ in products], texts


def _wait_for_first_chunk(base: str, headers: dict, loader: subprocess.Popen) -> None:
    """Wait until the loader has stored its first chunk, so that the traffic meets its writes."""
    deadline = time.time() + 900
    while not httpx.get(f"{base}/v1/reviews", params={"limit": 1}, headers=headers, timeout=60).json()[
        "items"
    ]:
        assert loader.poll() is None and time.time() < deadline, "the bulk load stored nothing"
        time.sleep(1)


async def _traffic(base: str, headers: dict, product_ids: list[str], texts: list[str]) -> dict[str, list]:
    """``CLIENTS`` clients for ``SECONDS``; per endpoint, ``[(seconds, status or exception name), ...]``."""
    outcomes: dict[str, list] = defaultdict(list)
    deadline = time.perf_counter() + SECONDS
    ids = itertools.count()

    async def client(http: httpx.AsyncClient, rng: random.Random) -> None:
        while time.perf_counter() < deadline:
            kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
            product = rng.choice(product_ids)
            if kind == "read":
                name, request = rng.choice([
                    ("GET /v1/reviews", http.build_request("GET", "/v1/reviews", params={"limit": 20})),
                    ("GET /v1/products/{id}/insights", http.build_request("GET", f"/v1/products/{product}/insights")),
                    ("GET /v1/reports/sentiment", http.build_request("GET", "/v1/reports/sentiment",
                                                                     params={"product_id": product})),
                ])  # fmt: skip
            elif kind == "ingest":
                body = {
                    "product_id": product,
                    "text": rng.choice(texts),
                    "source": "bench",
                    "external_id": str(next(ids)),
                }
                name, request = "POST /v1/reviews", http.build_request("POST", "/v1/reviews", json=body)
            else:
                body = {"documents": [{"id": "1", "text": rng.choice(texts)}]}
                name, request = "POST /v1/analyze", http.build_request("POST", "/v1/analyze", json=body)
            started = time.perf_counter()
            try:
                outcome: int | str = (await http.send(request)).status_code
            except httpx.TransportError as exc:
                outcome = type(exc).__name__
            outcomes[name].append((time.perf_counter() - started, outcome))

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300, limits=limits) as http:
        await asyncio.gather(*(client(http, random.Random(n)) for n in range(CLIENTS)))
    return outcomes


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_mixed_traffic_during_a_bulk_load(db_url, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    products_csv, reviews_csv, product_ids, texts = _write_inputs(tmp_path)
    with api_server(data, db_url) as live:
        env = live["env"]
        cli(env, "load", "products", str(products_csv), "--description-col", "", "--price-col", "", "--quiet")
        log = tmp_path / "load.log"
        with open(log, "w") as out:
            loader = subprocess.Popen(
                [str(BIN / "reviewpulse"), "load", "reviews", str(reviews_csv), "--title-col", "title",
                 "--rating-col", "rating", "--external-id-col", "review_id", "--source", "bulk",
                 "--chunk-size", str(CHUNK), "--quiet"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                _wait_for_first_chunk(live["base"], live["headers"], loader)
                outcomes = asyncio.run(_traffic(live["base"], live["headers"], product_ids, texts))
                loading = loader.poll() is None
            finally:
                loader.terminate()
                loader.wait()
        stored = httpx.get(f"{live['base']}/v1/reports/sentiment", headers=live["headers"], timeout=300)
    store = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    print(f"\n{store}: {CLIENTS} clients for {SECONDS:.0f} s during a bulk load of {REVIEWS} reviews "
          f"(still loading at the end: {loading}; reviews stored: {stored.json()['scorecards']['reviews']})")  # fmt: skip
    print(f"  {'endpoint':<34}{'requests':>9}{'errors':>8}{'resets':>8}{'p50 ms':>9}{'p99 ms':>9}")
    errors = resets = 0
    for name, rows in sorted(outcomes.items()):
        ms = np.asarray([s for s, _ in rows]) * 1000
        failed = sum(1 for _, o in rows if isinstance(o, int) and not 200 <= o < 300)
        dropped = sum(1 for _, o in rows if isinstance(o, str))
        errors, resets = errors + failed, resets + dropped
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"  {name:<34}{len(rows):>9}{failed:>8}{dropped:>8}{p50:>9.0f}{p99:>9.0f}")
    assert (errors, resets) == (0, 0), {n: sorted({str(o) for _, o in r}) for n, r in outcomes.items()}
