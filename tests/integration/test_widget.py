"""The chat widget's assets and the demo shop, served by the app (TestClient, no Rasa): the right content
types, a Content-Security-Policy on the demo pages that allows only this app's scripts and styles (no
inline code) and connections to the Rasa server only, and every asset a demo page references served."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from api.core.config import Settings
from api.service.routes.widget import DEMO_PRODUCTS
from tests.conftest import make_client

#: The widget's script and stylesheet together stay this small (bytes, unminified).
BUNDLE_LIMIT = 20_000


def _csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def test_widget_assets_are_served_with_their_content_types(api):
    js, css = api.get("/widget.js"), api.get("/widget.css")
    assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    for response in (js, css):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=300"
    assert "/webhooks/rest/webhook" in js.text and "aria-live" in js.text
    assert "widget.css" in js.text  # it loads its own stylesheet, next to itself
    assert len(js.content) + len(css.content) < BUNDLE_LIMIT
    assert not re.search(r"https?://(?!reviews\.shop\.example|chat\.shop\.example)", js.text + css.text)


def test_demo_shop_runs_under_a_csp_that_allows_only_self_hosted_code(api):
    page = api.get("/demo")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = _csp(page)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "http://localhost:5005"  # the default Rasa server, nothing else
    html = page.text
    # no inline code: every script has a src, no style elements or attributes, no handlers
    assert re.findall(r"<script\b[^>]*>", html) == [
        '<script src="/widget.js" data-rasa-url="http://localhost:5005" defer>'
    ]
    assert "<style" not in html and " style=" not in html and not re.search(r"\son\w+=", html)
    # everything the page loads comes from this app, with the right type
    for url, kind in [*((u, "text/css") for u in re.findall(r'<link[^>]*href="([^"]+)"', html)),
                      *((u, "text/javascript") for u in re.findall(r'<script[^>]*src="([^"]+)"', html))]:  # fmt: skip
        assert url.startswith("/"), url
        asset = api.get(url)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), url
    # nothing loaded yet: the page says how to load the examples
    assert all(pid in html for pid in DEMO_PRODUCTS) and "reviewpulse load products" in html


def test_demo_pages_show_catalogue_products_with_the_widget_for_each(api):
    products = [{"product_id": "DRS-101", "name": "Linen wrap dress", "category": "dresses", "price": 89.0,
                 "description": "Midi wrap dress in washed linen with a tie waist."},
                {"product_id": "KNT-220", "name": "Merino crew jumper", "category": "knitwear", "price": 79.0}]  # fmt: skip
    assert api.post("/v1/products", json=products, headers=api.admin).status_code == 201
    front = api.get("/demo").text
    assert "Linen wrap dress" in front and "89.00" in front and "Merino crew jumper" in front
    assert 'href="/demo/products/DRS-101"' in front and "data-product-id" not in front
    page = api.get("/demo/products/DRS-101")
    assert page.status_code == 200 and "Linen wrap dress" in page.text
    assert 'data-product-id="DRS-101"' in page.text and _csp(page)["script-src"] == "'self'"
    missing = api.get("/demo/products/NOPE-1")
    assert missing.status_code == 404 and "NOPE-1" in missing.text and _csp(missing)["script-src"] == "'self'"


def test_demo_page_escapes_catalogue_text(api):
    product = {"product_id": "XSS-1", "name": '<script>alert("x")</script>', "price": 1.0}
    assert api.post("/v1/products", json=product, headers=api.admin).status_code == 201
    html = api.get("/demo/products/XSS-1").text
    assert '<script>alert("x")</script>' not in html and "&lt;script&gt;" in html


def test_rasa_url_sets_the_widget_tag_and_connect_src(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, rasa_url="https://chat.shop.example/") as client:
        page = client.get("/demo")
    assert 'data-rasa-url="https://chat.shop.example"' in page.text
    assert _csp(page)["connect-src"] == "https://chat.shop.example"
    with pytest.raises(ValidationError, match="rasa_url"):
        Settings(data_dir=tmp_path, rasa_url="chat.shop.example")


def test_demo_can_be_turned_off_but_the_widget_stays(tmp_path, analyzer):
    with make_client(tmp_path, analyzer, demo_enabled=False) as client:
        assert client.get("/demo").status_code == 404
        assert client.get("/demo/products/DRS-101").status_code == 404
        assert client.get("/demo/shop.css").status_code == 404
        assert client.get("/widget.js").status_code == 200
