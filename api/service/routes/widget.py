"""The embeddable chat widget's assets (``GET /widget.js``, ``GET /widget.css``) and the demo shop that
embeds it (``GET /demo``, ``GET /demo/products/{id}``).

The widget's files are package data of ``chatbot`` (``chatbot/widget/``); nothing is fetched from a CDN. The
demo pages run under a Content-Security-Policy that allows only this app's scripts and styles, and
connections to the Rasa server only (``REVIEWPULSE_RASA_URL``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from api import store
from api.service.deps import SessionDep
from api.service.errors import JSONRoute

router = APIRouter(tags=["chat widget"], route_class=JSONRoute)

#: The products the demo shop's front page shows (from ``examples/products.csv``).
DEMO_PRODUCTS = ("DRS-101", "KNT-220")
#: Browsers and proxies may keep the assets this long (seconds) before asking again.
ASSET_MAX_AGE = 300
_TYPES = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
}


@cache
def _widget_file(name: str) -> bytes:
    return files("chatbot").joinpath("widget", name).read_bytes()


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("api.service", "demo"), autoescape=select_autoescape(default=True)
    )


def demo_csp(rasa_url: str) -> str:
    """The demo pages' Content-Security-Policy: scripts and styles from this app only (no inline code),
    network connections to the Rasa server's origin only."""
    parts = urlsplit(rasa_url)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"connect-src {parts.scheme}://{parts.netloc}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _asset(name: str) -> Response:
    return Response(
        _widget_file(name),
        media_type=_TYPES[name],
        headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"},
    )


@router.get("/widget.js", include_in_schema=False)
def widget_js() -> Response:
    """The chat widget: embed it with ``<script src=".../widget.js" data-rasa-url="..." defer>``."""
    return _asset("widget.js")


@router.get("/widget.css", include_in_schema=False)
def widget_css() -> Response:
    """The widget's stylesheet (``widget.js`` loads it into its shadow root)."""
    return _asset("widget.css")


def _page(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    settings = request.app.state.settings
    if not settings.demo_enabled:
        raise HTTPException(404, "the demo shop is turned off (REVIEWPULSE_DEMO_ENABLED=false)")
    html = _templates().get_template(template).render(rasa_url=settings.rasa_url, **values)
    return HTMLResponse(html, status, headers={"Content-Security-Policy": demo_csp(settings.rasa_url)})


@router.get("/demo", include_in_schema=False)
def demo_shop(request: Request, session: SessionDep) -> HTMLResponse:
    """The demo shop's front page: the two example products, and the chat widget."""
    found = {pid: store.get_product(session, pid) for pid in DEMO_PRODUCTS}
    products = [product for product in found.values() if product is not None]
    missing = [pid for pid, product in found.items() if product is None]
    return _page(request, "shop.html.j2", products=products, missing=missing)


@router.get("/demo/products/{product_id}", include_in_schema=False)
def demo_product(request: Request, session: SessionDep, product_id: str) -> HTMLResponse:
    """A product page of the demo shop with the chat widget for that product (any catalogue entry)."""
    product = store.get_product(session, product_id)
    if product is None:
        return _page(request, "not_found.html.j2", 404, product_id=product_id)
    return _page(request, "product.html.j2", product=product)


@router.get("/demo/shop.css", include_in_schema=False)
def demo_css(request: Request) -> Response:
    """The demo shop's stylesheet."""
    if not request.app.state.settings.demo_enabled:
        raise HTTPException(404, "the demo shop is turned off (REVIEWPULSE_DEMO_ENABLED=false)")
    css = files("api.service").joinpath("demo", "shop.css").read_bytes()
    return Response(css, media_type=_TYPES["widget.css"], headers={"Cache-Control": "no-cache"})
