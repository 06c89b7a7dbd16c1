"""A small shop for the chat assistant's tests: a catalogue and reviews written for these tests, loaded
into a live API (``POST /v1/products``, ``POST /v1/reviews``) the way a shop would load them."""

from __future__ import annotations

import httpx

from tests.live import cli

PRODUCTS = [
    {"product_id": "DRS-101", "name": "Linen wrap dress", "category": "Dresses", "price": 89.0,
     "description": "A midi wrap dress in washed linen, true to size, with a tie waist."},
    {"product_id": "DRS-205", "name": "Jersey midi dress", "category": "Dresses", "price": 59.0,
     "description": "A stretchy jersey midi dress that fits true to size."},
    {"product_id": "DRS-330", "name": "Silk evening gown", "category": "Dresses", "price": 240.0,
     "description": "A floor-length silk gown for weddings and evening events."},
    {"product_id": "COAT-220", "name": "Wool blend winter coat", "category": "Coats", "price": 149.0,
     "description": "A warm, lined wool coat for cold winters."},
    {"product_id": "COAT-415", "name": "Waterproof parka", "category": "Coats", "price": 119.0,
     "description": "A hooded waterproof parka for rainy weather."},
    {"product_id": "KNT-118", "name": "Merino crew jumper", "category": "Knitwear", "price": 79.0,
     "description": "A soft merino wool sweater, not itchy."},
    {"product_id": "TOP-500", "name": "Cotton striped tee", "category": "Tops", "price": 25.0,
     "description": "A relaxed cotton t-shirt with bright stripes."},
]  # fmt: skip

_DRESS = [
    (5, "The fabric is so soft and the colour is beautiful."),
    (5, "Lovely fabric, soft and breathable. I wear it all summer."),
    (4, "The fabric feels great and the length is perfect."),
    (2, "The fit is awful, it runs very small. I had to return it."),
    (2, "Beautiful fabric but the fit is too tight across the chest."),
    (1, "Terrible fit, way too small, and the zipper broke."),
    (4, "Soft fabric, nice colour, but order a size up."),
    (5, "Gorgeous colour and the fabric is lovely quality."),
]
_COAT = [
    (5, "Very warm coat, the lining is excellent."),
    (4, "Warm and well made, the sleeves are a bit long."),
    (2, "The buttons fell off after a week. Poor quality."),
]
_JUMPER = [
    (5, "So soft, not itchy at all. Great quality wool."),
    (3, "Nice jumper but it shrank a little in the wash."),
]

REVIEWS = (
    [{"product_id": "DRS-101", "rating": r, "text": t} for r, t in _DRESS]
    + [{"product_id": "COAT-220", "rating": r, "text": t} for r, t in _COAT]
    + [{"product_id": "KNT-118", "rating": r, "text": t} for r, t in _JUMPER]
)


def load_shop(base: str, headers: dict[str, str]) -> None:
    """Add the catalogue and the reviews (idempotent: fixed ``source`` and ``external_id``)."""
    response = httpx.post(f"{base}/v1/products", json=PRODUCTS, headers=headers, timeout=60)
    assert response.status_code == 201, response.text
    reviews = [{**r, "source": "test-shop", "external_id": f"shop-{i}"} for i, r in enumerate(REVIEWS)]
    response = httpx.post(f"{base}/v1/reviews", json=reviews, headers=headers, timeout=300)
    assert response.status_code == 200 and not response.json()["errors"], response.text


def writer_key(env: dict) -> str:
    """A new writer key (the action server stores feedback, so it needs the writer role)."""
    return cli(env, "apikey", "create", "--role", "writer").strip().splitlines()[-1]
