"""The HTTP API through FastAPI's TestClient over a real SQLite store and the real models."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import sqlite3
import time

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from api import store
from api.db import make_engine, make_sessionmaker
from tests.conftest import make_client, make_key
from tests.live import TcpProxy

PRODUCTS = [
    {"product_id": "DRS-1", "name": "Linen wrap dress", "category": "Dresses", "price": 89.0},
    {"product_id": "TEA-7", "name": "Sencha green tea", "category": "Tea", "price": 12.5},
]
REVIEWS = [
    ("DRS-1", "The fabric is so soft and the colour is gorgeous.", 5),
    ("DRS-1", "Runs small and the zipper broke after one wash.", 2),
    ("DRS-1", "Lovely fabric but the sleeves are too long.", 3),
    ("DRS-1", '=HYPERLINK("http://evil") the fit is terrible', 1),
    ("TEA-7", "Great taste, fresh and fragrant.", 5),
]


def _seed(api) -> list[dict]:
    assert api.post("/v1/products", json=PRODUCTS, headers=api.admin).status_code == 201
    payload = [
        {"product_id": p, "text": t, "rating": r, "source": "test", "external_id": f"e{i}",
         "created_at": f"2026-0{1 + i % 3}-1{i}T10:00:00Z"}
        for i, (p, t, r) in enumerate(REVIEWS)
    ]  # fmt: skip
    response = api.post("/v1/reviews", json=payload, headers=api.admin)
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []
    return payload


def test_health_ready_and_metrics(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models"] and ready.json()["database"]
    api.get("/v1/topics", headers=api.reader)
    api.get("/v1/topics", headers=api.reader)
    api.get("/v1/topics")  # no key: 401
    api.get("/v1/products/no-such-product", headers=api.reader)  # a route template, answered 404
    api.get("/no/such/path")
    api.post("/v1/analyze", headers=api.reader, json={"documents": [{"id": "1", "text": "Soft."}]})
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    lines = set(metrics.text.splitlines())
    for line in (
        'reviewpulse_requests_total{method="GET",route="/v1/topics",status="200"} 2.0',
        'reviewpulse_requests_total{method="GET",route="/v1/topics",status="401"} 1.0',
        'reviewpulse_requests_total{method="GET",route="/v1/products/{product_id}",status="404"} 1.0',
        'reviewpulse_requests_total{method="GET",route="none",status="404"} 1.0',
        'reviewpulse_request_seconds_count{method="GET",route="/v1/topics"} 3.0',
        "reviewpulse_documents_analysed_total 1.0",
    ):
        assert line in lines, line


def test_metrics_can_be_turned_off(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, metrics_enabled=False) as client:
        assert client.get("/metrics").status_code == 404


def test_keys_and_roles(api):
    body = {"documents": [{"id": "1", "text": "nice"}]}
    missing = api.post("/v1/analyze", json=body)
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "X-API-Key" in missing.json()["detail"]
    assert api.post("/v1/analyze", json=body, headers={"X-API-Key": "rp_wrong"}).status_code == 401
    assert api.post("/v1/analyze", json=body, headers=api.reader).status_code == 200
    forbidden = api.post("/v1/products", json=PRODUCTS[0], headers=api.reader)
    assert forbidden.status_code == 403 and "writer" in forbidden.json()["detail"]


def test_analyze_batch_with_per_document_errors(api):
    docs = [
        {"id": "a", "text": "The fabric is so soft but it runs small."},
        {"id": "b", "text": "   "},
        {"id": "c", "text": "x" * 20_001},
        {"id": "a", "text": "duplicate id"},
        {"id": "d", "text": "Email me at jane@example.com, love it"},
    ]
    response = api.post("/v1/analyze", json={"documents": docs, "options": {"redact_pii": True, "include_text": True}},
                         headers=api.reader)  # fmt: skip
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model_version"].startswith("sentiment-v")
    assert [r["id"] for r in data["results"]] == ["a", "d"]
    assert {e["id"]: e["code"] for e in data["errors"]} == {
        "b": "empty_text",
        "c": "text_too_long",
        "a": "duplicate_id",
    }
    first = data["results"][0]
    assert first["aspects"][0]["text"] == "fabric" and first["sentences"][0]["offset"] == 0
    assert first["aspects"][0]["category"] == "fabric/material"
    assert (first["language"], first["flags"]) == ("en", [])
    assert "jane@example.com" not in response.text and "[EMAIL]" in data["results"][1]["text"]


def test_a_german_document_says_its_language_and_is_flagged(api):
    text = "Das Kleid ist wunderschön, aber leider viel zu klein. Ich schicke es zurück."
    response = api.post("/v1/analyze", json={"documents": [{"id": "de", "text": text}]}, headers=api.reader)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert (result["language"], result["flags"], result["aspects"]) == ("de", ["unsupported_language"], [])
    assert result["sentiment"]["label"] == "neutral"


def test_analyze_limits_and_bad_requests(api):
    too_many = {"documents": [{"id": str(i), "text": "ok"} for i in range(101)]}
    response = api.post("/v1/analyze", json=too_many, headers=api.reader)
    assert response.status_code == 413 and "100" in response.json()["detail"]
    unknown = api.post(
        "/v1/analyze?model_version=99", json={"documents": [{"id": "1", "text": "ok"}]}, headers=api.reader
    )
    assert unknown.status_code == 400 and "latest" in unknown.json()["detail"]
    malformed = api.post(
        "/v1/analyze", content=b"{not json", headers={**api.reader, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    wrong_type = api.post("/v1/analyze", json={"documents": "text"}, headers=api.reader)
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"] == "body.documents"
    empty = api.post("/v1/analyze", json={"documents": []}, headers=api.reader)
    assert empty.status_code == 422


def test_body_limit(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, max_body_bytes=2_000) as client:
        key = make_key(client, "reader")
        response = client.post(
            "/v1/analyze", json={"documents": [{"id": "1", "text": "a" * 5_000}]}, headers=key
        )
        assert response.status_code == 413 and response.headers["content-type"].startswith(
            "application/problem+json"
        )
        body = json.dumps({"documents": [{"id": "1", "text": "a" * 5_000}]}).encode()
        chunked = client.post(  # no Content-Length: the limit is found while reading
            "/v1/analyze",
            content=(body[i : i + 500] for i in range(0, len(body), 500)),
            headers={**key, "Content-Type": "application/json"},
        )
        assert chunked.request.headers.get("transfer-encoding") == "chunked"
        assert chunked.status_code == 413, chunked.text
        assert chunked.headers["content-type"] == "application/problem+json"
        assert "2000 bytes" in chunked.json()["detail"]


def test_rate_limit(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, rate_limit_per_minute=3) as client:
        key = make_key(client, "reader")
        codes = [client.get("/v1/topics", headers=key).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/topics", headers=key)
        assert int(limited.headers["Retry-After"]) >= 1


def test_cors_for_the_chat_widget(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, cors_origins=["https://shop.example"]) as client:
        preflight = client.options(
            "/v1/analyze",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "X-API-Key"},
        )  # fmt: skip
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"


def test_ingest_is_idempotent_and_validated(api):
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    review = {
        "product_id": "DRS-1",
        "text": "So soft, runs small.",
        "rating": 4,
        "source": "shop",
        "external_id": "x1",
    }
    first = api.post("/v1/reviews", json=review, headers=api.admin)
    assert first.status_code == 201, first.text
    again = api.post("/v1/reviews", json=review, headers=api.admin)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    listing = api.get("/v1/reviews", params={"product_id": "DRS-1"}, headers=api.reader).json()
    assert len(listing["items"]) == 1
    unknown = api.post(
        "/v1/reviews", json={**review, "product_id": "NOPE", "external_id": "x2"}, headers=api.admin
    )
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["detail"]
    blank = api.post("/v1/reviews", json={**review, "text": "  ", "external_id": "x3"}, headers=api.admin)
    assert blank.status_code == 422 and "empty_text" in blank.json()["detail"]
    bad_rating = api.post("/v1/reviews", json={**review, "rating": 6}, headers=api.admin)
    assert bad_rating.status_code == 422 and bad_rating.json()["errors"][0]["field"].endswith("rating")


def test_offsets_of_a_titled_review_index_the_text_the_models_read(api):
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    review = {"product_id": "DRS-1", "title": "Great dress!", "text": "The zipper broke and the fabric is thin.",
              "rating": 2, "source": "shop", "external_id": "t1"}  # fmt: skip
    created = api.post("/v1/reviews", json=review, headers=api.admin).json()
    [listed] = api.get("/v1/reviews", params={"product_id": "DRS-1"}, headers=api.reader).json()["items"]
    for out in (created, listed):
        assert out["text"] == review["text"] and out["analyzed_text"] == "Great dress!. " + review["text"]
        assert {a["text"] for a in out["aspects"]} >= {"zipper", "fabric"}
        for aspect in out["aspects"]:
            assert out["analyzed_text"][aspect["offset"] :][: aspect["length"]] == aspect["text"]
            for opinion in aspect["opinions"]:
                assert out["analyzed_text"][opinion["offset"] :][: opinion["length"]] == opinion["text"]


def test_list_filters_and_cursor_pagination(api):
    _seed(api)
    seen, cursor = [], None
    while True:
        params = {"product_id": "DRS-1", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/reviews", params=params, headers=api.reader).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 4
    negative = api.get("/v1/reviews", params={"sentiment": "negative"}, headers=api.reader).json()["items"]
    assert negative and all(r["sentiment"]["label"] == "negative" for r in negative)
    by_category = api.get("/v1/reviews", params={"category": "Tea"}, headers=api.reader).json()["items"]
    assert [r["product_id"] for r in by_category] == ["TEA-7"]
    assert api.get("/v1/reviews", params={"cursor": "garbage"}, headers=api.reader).status_code == 400


def test_a_review_the_models_cannot_read_is_counted_apart_in_insights_and_reports(api):
    """QA finding: a German review's no-information neutral was counted as a neutral reading."""
    _seed(api)
    before = api.get("/v1/products/DRS-1/insights", headers=api.reader).json()
    german = {
        "product_id": "DRS-1",
        "text": "Das Kleid ist leider viel zu klein. Ich schicke es zurück.",
        "rating": 2,
    }
    assert api.post("/v1/reviews", json=german, headers=api.admin).status_code == 201
    after = api.get("/v1/products/DRS-1/insights", headers=api.reader).json()
    assert (after["review_count"], after["unread_reviews"]) == (before["review_count"] + 1, 1)
    assert after["sentiment_distribution"] == before["sentiment_distribution"]
    assert after["average_rating"] != before["average_rating"]  # its stars still count
    cards = api.get("/v1/reports/sentiment", params={"product_id": "DRS-1"}, headers=api.reader).json()[
        "scorecards"
    ]
    assert (
        cards["unread_reviews"] == 1 and cards["neutral_share"] == before["sentiment_distribution"]["neutral"]
    )


def test_insights_topics_and_reports(api):
    _seed(api)
    insights = api.get("/v1/products/DRS-1/insights", headers=api.reader)
    assert insights.status_code == 200, insights.text
    data = insights.json()
    assert data["review_count"] == 4 and data["average_rating"] == pytest.approx(2.75)
    assert data["praised_aspects"] or data["criticised_aspects"]
    assert api.get("/v1/products/NOPE/insights", headers=api.reader).status_code == 404

    topics = api.get("/v1/topics", headers=api.reader).json()
    assert topics and all({"id", "label", "size", "sentiment_distribution"} <= set(t) for t in topics)
    assert sum(t["stored_reviews"] for t in topics) > 0

    report = api.get(
        "/v1/reports/sentiment", params={"product_id": "DRS-1", "granularity": "month"}, headers=api.reader
    )
    assert report.status_code == 200 and report.json()["scorecards"]["reviews"] == 4
    categories = report.json()["drivers"]["categories"]
    assert categories and all(d["kind"] == "category" for d in categories)
    stored = api.get("/v1/reviews", params={"product_id": "DRS-1"}, headers=api.reader).json()["items"]
    assert all(a["category"] for review in stored for a in review["aspects"])
    assert all(review["language"] == "en" for review in stored)
    as_csv = api.get("/v1/reports/sentiment", params={"format": "csv"}, headers=api.reader)
    assert as_csv.headers["content-type"].startswith("text/csv")
    cells = [cell for row in csv.reader(io.StringIO(as_csv.text)) for cell in row]
    assert not any(cell.startswith("=") for cell in cells)
    html = api.get("/v1/reports/sentiment", params={"format": "html"}, headers=api.reader)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text


def test_review_list_filters_are_trimmed_and_checked_like_the_report(api):
    _seed(api)
    padded = api.get("/v1/reviews", params={"category": " dresses "}, headers=api.reader)
    assert padded.status_code == 200 and len(padded.json()["items"]) == 4
    backwards = api.get("/v1/reviews", params={"from": "2026-01-01", "to": "2025-01-01"}, headers=api.reader)
    assert [e["field"] for e in _problem(backwards, 422)["errors"]] == ["query.from"]
    same_day = {"from": "2026-01-10T23:00:00Z", "to": "2026-01-10"}
    assert api.get("/v1/reviews", params=same_day, headers=api.reader).status_code == 200


def test_report_filters_are_trimmed_and_checked(api):
    """QA: a ``from`` after ``to`` and an unknown product were an empty 200 report, and a padded category
    matched nothing."""
    _seed(api)
    padded = api.get("/v1/reports/sentiment", params={"category": " dresses "}, headers=api.reader)
    assert padded.status_code == 200 and padded.json()["scorecards"]["reviews"] == 4
    assert padded.json()["filters"]["category"] == "dresses"
    backwards = api.get(
        "/v1/reports/sentiment", params={"from": "2026-01-01", "to": "2025-01-01"}, headers=api.reader
    )
    problem = _problem(backwards, 422)
    assert [e["field"] for e in problem["errors"]] == ["query.from"]
    assert "from (2026-01-01) is after to (2025-01-01)" in problem["detail"]
    for same_day in [
        {"from": "2026-01-10", "to": "2026-01-10"},
        {"from": "2026-01-10T23:00:00Z", "to": "2026-01-10"},
    ]:
        assert api.get("/v1/reports/sentiment", params=same_day, headers=api.reader).status_code == 200
    instant = {"from": "2026-01-10T00:00:01Z", "to": "2026-01-10T00:00:00Z"}
    assert api.get("/v1/reports/sentiment", params=instant, headers=api.reader).status_code == 422
    unknown = _problem(
        api.get("/v1/reports/sentiment", params={"product_id": "NOPE"}, headers=api.reader), 404
    )
    assert "product_id" in unknown["detail"] and "'NOPE'" in unknown["detail"]
    no_such_category = api.get("/v1/reports/sentiment", params={"category": "Hats"}, headers=api.reader)
    assert no_such_category.status_code == 200 and no_such_category.json()["scorecards"]["reviews"] == 0


def test_openapi_is_complete(api):
    schema = api.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ["/v1/analyze", "/v1/reviews", "/v1/products", "/v1/products/{product_id}/insights", "/v1/topics",
                 "/v1/reports/sentiment", "/healthz", "/readyz"]:  # fmt: skip
        assert path in paths
    assert schema["components"]["schemas"]["AnalyzeRequest"].get("examples")


def test_implausible_review_dates_are_rejected(api):
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    old = {"product_id": "DRS-1", "text": "Nice dress.", "created_at": "1969-07-20T20:17:00Z"}
    response = api.post("/v1/reviews", json=old, headers=api.admin)
    assert response.status_code == 422 and response.json()["errors"][0]["field"].endswith("created_at")
    future = {**old, "created_at": "2999-01-01T00:00:00Z"}
    assert api.post("/v1/reviews", json=future, headers=api.admin).status_code == 422


def test_reads_go_on_while_a_writer_holds_the_sqlite_lock(api, tmp_path):
    """A bulk load or a slow writer holding SQLite's write lock must not fail reads (nor key lookups)."""
    _seed(api)
    writer = sqlite3.connect(tmp_path / "reviewpulse.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO products (product_id, name, created_at) VALUES ('HELD', 'held', '2026-01-01')"
        )
        for path in ["/v1/reviews?limit=5", "/v1/products/DRS-1", "/v1/products/DRS-1/insights", "/v1/topics",
                     "/v1/reports/sentiment", "/readyz"]:  # fmt: skip
            started = time.perf_counter()
            response = api.get(path, headers=api.reader)
            assert response.status_code == 200, (path, response.text)
            assert time.perf_counter() - started < 3, path  # no waiting for the lock (busy_timeout is 5 s)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_revoked_key_stops_at_once_even_when_revoked_by_another_process(api, tmp_path):
    key = make_key(api, "reader")
    assert api.get("/v1/topics", headers=key).status_code == 200
    # `reviewpulse apikey revoke` runs in another process, with its own engine and connections
    engine = make_engine(f"sqlite:///{tmp_path / 'reviewpulse.db'}")
    try:
        with make_sessionmaker(engine)() as session:
            [stored] = [k for k in store.list_api_keys(session) if k.prefix == key["X-API-Key"][:8]]
            assert store.revoke_api_key(session, stored.id)
            session.commit()
    finally:
        engine.dispose()
    revoked = api.get("/v1/topics", headers=key)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_invalid_keys_are_rate_limited_per_address(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, rate_limit_per_minute=5) as client:
        valid = make_key(client, "reader")
        codes = [client.get("/v1/topics", headers={"X-API-Key": f"rp_{i}"}).status_code for i in range(7)]
        assert codes == [401] * 5 + [429] * 2
        assert int(client.get("/v1/topics", headers={"X-API-Key": "rp_x"}).headers["Retry-After"]) >= 1
        assert client.get("/v1/topics", headers=valid).status_code == 200  # a valid key is never locked out


@pytest.fixture
def api_on(tmp_path, analyzer, db_url):
    """The API over each store: SQLite and PostgreSQL (skipped when it is not reachable)."""
    with make_client(tmp_path, analyzer, database_url=db_url) as client:
        client.admin = make_key(client, "admin")
        client.reader = make_key(client, "reader")
        yield client


def _cursor(created_at: object, review_id: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, review_id]).encode()).decode().rstrip("=")


BAD_QUERIES = [
    ("/v1/reviews", {"cursor": _cursor("2026-01-01T00:00:00+00:00", 2**31)}, "cursor"),
    ("/v1/reviews", {"cursor": _cursor("2026-01-01T00:00:00+00:00", 2**63)}, "cursor"),
    ("/v1/reviews", {"cursor": _cursor("2026-01-01T00:00:00+00:00", 2**70)}, "cursor"),
    ("/v1/reviews", {"cursor": _cursor("2026-01-01T00:00:00+00:00", True)}, "cursor"),
    ("/v1/reviews", {"cursor": _cursor("0001-01-01T00:00:00+14:00", 5)}, "cursor"),
    ("/v1/reviews", {"from": "0001-01-01T01:00:00+14:00"}, "from"),
    ("/v1/reviews", {"to": "9999-12-31T23:00:00-05:00"}, "to"),
    ("/v1/reviews", {"from": "last tuesday"}, "from"),
    ("/v1/reviews", {"product_id": "a\x00b"}, "product_id"),
    ("/v1/reviews", {"category": "a\x00b"}, "category"),
    ("/v1/reports/sentiment", {"from": "0001-01-01T01:00:00+14:00"}, "from"),
    ("/v1/reports/sentiment", {"to": "9999-12-31T23:00:00-05:00"}, "to"),
    ("/v1/reports/sentiment", {"product_id": "a\x00b"}, "product_id"),
    ("/v1/reports/sentiment", {"category": "a\x00b"}, "category"),
    ("/v1/reports/sentiment", {"from": "2026-01-02", "to": "2026-01-01"}, "from"),
    ("/v1/recommendations", {"q": "a\x00b"}, "q"),
    ("/v1/products/a%00b", {}, "product_id"),
]


@pytest.mark.parametrize(("path", "params", "name"), BAD_QUERIES)
def test_bad_query_values_are_4xx_problems_naming_the_parameter(api_on, path, params, name):
    response = api_on.get(path, params=params, headers=api_on.reader)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert name in response.json()["detail"]


def test_a_well_formed_cursor_past_the_last_id_is_an_empty_page(api_on):
    params = {"cursor": _cursor("2026-01-01T00:00:00+00:00", 2**31 - 1)}
    response = api_on.get("/v1/reviews", params=params, headers=api_on.reader)
    assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}


def test_dates_at_the_ends_of_the_calendar_and_with_offsets(api):
    """``to=9999-12-31`` is the whole last day; a time with an offset is that instant (not its date)."""
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    for external_id, created_at in [("early", "2026-12-04T06:00:00Z"), ("late", "2026-12-04T09:00:00Z")]:
        review = {
            "product_id": "DRS-1",
            "text": "Soft fabric.",
            "external_id": external_id,
            "created_at": created_at,
        }
        assert api.post("/v1/reviews", json=review, headers=api.admin).status_code == 201
    for path in ["/v1/reviews", "/v1/reports/sentiment"]:
        assert (
            api.get(path, params={"from": "0001-01-01", "to": "9999-12-31"}, headers=api.reader).status_code
            == 200
        )
    # 2026-12-04T00:00:00-08:00 is 08:00 UTC: "early" (06:00 UTC) is before it
    since = {"from": "2026-12-04T00:00:00-08:00"}
    items = api.get("/v1/reviews", params=since, headers=api.reader).json()["items"]
    assert [r["external_id"] for r in items] == ["late"]
    report = api.get("/v1/reports/sentiment", params=since, headers=api.reader).json()
    assert report["scorecards"]["reviews"] == 1
    until = {"to": "2026-12-04T00:00:00-08:00"}
    assert [
        r["external_id"] for r in api.get("/v1/reviews", params=until, headers=api.reader).json()["items"]
    ] == ["early"]
    day = {"from": "2026-12-04", "to": "2026-12-04"}  # dates are whole UTC days
    assert len(api.get("/v1/reviews", params=day, headers=api.reader).json()["items"]) == 2


def test_a_boolean_is_not_a_number(api):
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    review = {"product_id": "DRS-1", "text": "Lovely.", "rating": True}
    response = api.post("/v1/reviews", json=review, headers=api.admin)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.rating"
    product = {"product_id": "X-1", "name": "X", "price": True}
    response = api.post("/v1/products", json=product, headers=api.admin)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.price"
    assert api.post("/v1/products", json={**product, "price": 12}, headers=api.admin).status_code == 201


def test_an_over_long_optional_product_field_is_measured_in_characters(api):
    """QA: optional text fields said "Value should have at most 200 items after validation"."""
    product = {"product_id": "X-1", "name": "X", "category": "c" * 201}
    [error] = _problem(api.post("/v1/products", json=product, headers=api.admin), 422)["errors"]
    assert error == {"field": "body.category", "message": "String should have at most 200 characters"}
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    for field, limit in (("title", 500), ("author_id", 128), ("external_id", 256)):
        review = {"product_id": "DRS-1", "text": "Lovely.", field: "x" * (limit + 1)}
        [error] = _problem(api.post("/v1/reviews", json=review, headers=api.admin), 422)["errors"]
        assert error == {
            "field": f"body.{field}",
            "message": f"String should have at most {limit} characters",
        }


@pytest.mark.parametrize("product_id", ["../../etc/passwd", "a/b", "..", "."])
def test_a_product_id_that_no_url_can_reach_is_refused(api, product_id):
    response = api.post("/v1/products", json={"product_id": product_id, "name": "X"}, headers=api.admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.product_id"
    assert "URL" in response.json()["detail"]


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def _json_post(api, path: str, body: object, headers: dict) -> object:
    """POST ``body`` as JSON with ``\\u`` escapes (httpx's own encoding cannot carry a lone surrogate)."""
    return api.post(path, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"id": "1", "text": "so\x00ft"}, "body.documents.1.text"),
        ({"id": "a\x00b", "text": "Soft."}, "body.documents.1.id"),
        ({"id": "1", "text": "soft \ud800"}, "body.documents.1.text"),
    ],
    ids=["nul-in-text", "nul-in-id", "lone-surrogate"],
)
def test_analyze_refuses_nul_and_lone_surrogates_like_the_other_endpoints(api, document, field):
    body = {"documents": [{"id": "ok", "text": "Soft."}, document]}
    problem = _problem(_json_post(api, "/v1/analyze", body, api.reader), 422)
    assert [e["field"] for e in problem["errors"]] == [field] and field in problem["detail"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"documents": [{"id": "1", "text": "caf\xe9"}]}', "line 1, column 40"),
        ('{"documents": [{"id": "1", "text": "café"}]}'.encode("utf-16"), "line 1, column 1"),
        (b'{"documents": [{"id": "1", "text": "\xed\xa0\x80"}]}', "line 1, column 37"),
        (b'{"documents": [\n  {"id": "1", "text": "so soft",}\n]}', "line 2, column 33"),
        (b"{not json", "line 1, column 2"),
        (b'{"documents": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
    ids=["latin-1", "utf-16", "encoded-surrogate", "trailing-comma", "not-json", "nested-too-deeply"],
)
def test_a_body_that_is_not_utf8_json_is_a_problem_saying_where(api, content, reason):
    response = api.post(
        "/v1/analyze", content=content, headers={**api.reader, "Content-Type": "application/json"}
    )
    problem = _problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["body"]
    assert "not valid UTF-8 JSON" in problem["detail"] and reason in problem["detail"], problem["detail"]


def test_a_utf8_body_may_start_with_a_byte_order_mark(api):
    content = '\ufeff{"documents": [{"id": "1", "text": "Soft café."}]}'.encode()
    headers = {**api.reader, "Content-Type": "application/json; charset=utf-8"}
    response = api.post("/v1/analyze", content=content, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ["yes", "true", 1, 1.0, 0])
@pytest.mark.parametrize("option", ["redact_pii", "include_text"])
def test_analyze_options_are_strict_booleans(api, option, value):
    body = {"documents": [{"id": "1", "text": "Mail jane@example.com"}], "options": {option: value}}
    problem = _problem(api.post("/v1/analyze", json=body, headers=api.reader), 422)
    assert [e["field"] for e in problem["errors"]] == [f"body.options.{option}"]


def test_one_object_or_a_list_is_validated_as_the_client_sent_it(api):
    api.post("/v1/products", json=PRODUCTS, headers=api.admin)
    review = {"product_id": "DRS-1", "text": "Lovely."}
    one = _problem(api.post("/v1/reviews", json={**review, "rating": 6}, headers=api.admin), 422)
    assert [e["field"] for e in one["errors"]] == ["body.rating"]
    assert "list" not in one["detail"]
    many = api.post("/v1/reviews", json=[review, {"product_id": "DRS-1", "rating": 6}], headers=api.admin)
    assert [e["field"] for e in _problem(many, 422)["errors"]] == ["body.1.text", "body.1.rating"]
    product = {"product_id": "X-1", "name": "X", "price": -1}
    one = _problem(api.post("/v1/products", json=product, headers=api.admin), 422)
    assert [e["field"] for e in one["errors"]] == ["body.price"]
    many = _problem(api.post("/v1/products", json=[product], headers=api.admin), 422)
    assert [e["field"] for e in many["errors"]] == ["body.0.price"]
    for path in ["/v1/reviews", "/v1/products"]:
        neither = _problem(api.post(path, json="DRS-1", headers=api.admin), 422)
        assert [e["field"] for e in neither["errors"]] == ["body"]
        assert "an object or a list of objects" in neither["detail"]


def test_a_body_that_is_not_json_is_415_on_every_json_operation(api):
    operations = [
        (path, method)
        for path, item in api.get("/openapi.json").json()["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert {path for path, _ in operations} >= {"/v1/analyze", "/v1/answer", "/v1/reviews", "/v1/products"}
    for path, method in operations:
        for content_type in ["text/plain", "application/x-www-form-urlencoded", None]:
            headers = {**api.admin, **({"Content-Type": content_type} if content_type else {})}
            response = api.request(method, path, content=b'{"question": "hi"}', headers=headers)
            assert "application/json" in _problem(response, 415)["detail"], (path, content_type)
            assert response.headers["accept"] == "application/json"
    missing = _problem(api.post("/v1/analyze", headers=api.reader), 422)  # no body, no Content-Type
    assert [e["field"] for e in missing["errors"]] == ["body"]
    vendor_json = {**api.reader, "Content-Type": "application/vnd.reviewpulse+json"}
    body = b'{"documents": [{"id": "1", "text": "Soft."}]}'
    assert api.post("/v1/analyze", content=body, headers=vendor_json).status_code == 200


def test_docs_work_offline_and_pages_carry_security_headers(api):
    for page in ["/docs", "/redoc"]:
        html = api.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "https://" not in html.text and "http://" not in html.text  # no CDN: assets are served here
        assert "default-src 'self'" in html.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', html.text)
        assert any(a.endswith(".js") for a in assets)
        for asset in assets:
            served = api.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
    for response in [api.get("/healthz"), api.get("/v1/topics"), api.get("/openapi.json")]:
        assert response.headers["x-content-type-options"] == "nosniff"
    _seed(api)
    report = api.get("/v1/reports/sentiment", params={"format": "html"}, headers=api.reader)
    assert report.headers["content-security-policy"].startswith("default-src 'none'")  # no script at all
    assert report.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_while_postgresql_is_unreachable_requests_are_503_then_recover(tmp_path, analyzer, db_url):
    """The database goes away under the running service (a proxy in front of PostgreSQL is cut off):
    503 problems with Retry-After, and once it is back the same service answers again, without a restart."""
    url = make_url(db_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with make_client(tmp_path, analyzer, database_url=proxied) as client:
            admin = make_key(client, "admin")
            assert client.get("/v1/reviews", headers=admin).status_code == 200
            proxy.stop()
            for response in [client.get("/v1/reviews", headers=admin),
                             client.post("/v1/products", json=PRODUCTS[0], headers=admin)]:  # fmt: skip
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert int(response.headers["Retry-After"]) >= 1
            assert client.get("/readyz").status_code == 503
            proxy.start()
            assert client.post("/v1/products", json=PRODUCTS[0], headers=admin).status_code == 201
            assert client.get("/v1/products/DRS-1", headers=admin).status_code == 200


def test_a_write_that_cannot_get_the_sqlite_lock_in_time_is_503(api, tmp_path):
    writer = sqlite3.connect(tmp_path / "reviewpulse.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # held past the 5-second busy timeout
        response = api.post("/v1/products", json=PRODUCTS[0], headers=api.admin)
        assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1, response.text
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert api.post("/v1/products", json=PRODUCTS[0], headers=api.admin).status_code == 201


def test_a_database_error_that_is_a_bug_stays_a_500(api, monkeypatch):
    def broken(session):
        raise sa_exc.OperationalError("SELECT nope", {}, sqlite3.OperationalError("no such column: nope"))

    monkeypatch.setattr(store, "topic_stats", broken)
    response = api.get("/v1/topics", headers=api.reader)
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.headers["content-type"] == "application/problem+json" and "nope" not in response.text
