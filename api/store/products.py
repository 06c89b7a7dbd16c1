"""The product catalogue: upserts (one statement per chunk), validation of product ids and fields, lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import (
    Product,
)
from api.db.records import clean
from api.db.session import begin_write
from api.store.values import UPSERT_CHUNK

_PRODUCT_FIELDS = ("name", "category", "description", "price")


class UnknownProductError(LookupError):
    """A review names a product that is not in the catalogue (``product_id`` says which)."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"unknown product {product_id!r}: load it into the catalogue first")
        self.product_id = product_id


def upsert_products(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update catalogue rows (``product_id``, ``name``, optional ``category``, ``description``,
    ``price``); returns how many rows were written. A later row with the same ``product_id`` wins; only the
    fields a row carries are updated (``created_at`` keeps the first load's time).

    Raises:
        ValueError: a row without ``product_id`` or ``name``, or with a price that is not a number >= 0.
    """
    begin_write(session)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    chunk: dict[str, dict[str, Any]] = {}
    written = 0

    def flush_chunk() -> None:
        # One statement per set of columns: an absent field must not overwrite what is stored.
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in chunk.values():
            by_fields[tuple(sorted(row))].append(row)
        for fields, values in by_fields.items():
            stmt = insert(Product).values(values)
            updates = {f: stmt.excluded[f] for f in fields if f in _PRODUCT_FIELDS}
            session.execute(stmt.on_conflict_do_update(index_elements=["product_id"], set_=updates))
        chunk.clear()

    for raw in rows:
        row = normalize_product(raw)
        chunk[row["product_id"]] = row
        written += 1
        if len(chunk) >= UPSERT_CHUNK:
            flush_chunk()
    if chunk:
        flush_chunk()
    session.expire_all()  # bulk statements bypass the identity map
    return written


def normalize_product(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue row :func:`upsert_products` writes for ``raw``: strings stripped (blank means None),
    price as a 2-decimal ``Decimal``; only the optional fields ``raw`` carries.

    Raises:
        ValueError: no ``product_id`` or ``name``, or a price that is not a number >= 0.
    """
    product_id = clean(raw.get("product_id"))
    name = clean(raw.get("name"))
    if product_id is None:
        raise ValueError("a product needs a product_id")
    check_product_id(product_id)
    if name is None:
        raise ValueError(f"product {product_id!r} needs a name")
    row: dict[str, Any] = {"product_id": product_id, "name": name, "created_at": utcnow()}
    for key in ("category", "description"):
        if key in raw:
            row[key] = clean(raw[key])
    if "price" in raw:
        row["price"] = _price(raw["price"], product_id)
    return row


def check_product_id(product_id: str) -> str:
    """``product_id`` if a URL path segment can carry it (``GET /v1/products/{product_id}``).

    Raises:
        ValueError: it holds a ``/`` (even encoded as ``%2F`` it would split the path) or is ``.`` or
            ``..`` (which clients resolve away as dot segments).
    """
    if "/" in product_id or product_id in (".", ".."):
        raise ValueError(f"product_id {product_id!r} cannot be part of a URL: no '/', and not '.' or '..'")
    return product_id


def _price(value: Any, product_id: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()) or value != value:  # None, "", NaN
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"product {product_id!r}: price {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"product {product_id!r}: price {value!r} must be a number >= 0")
    return price.quantize(Decimal("0.01"))


def get_product(session: Session, product_id: str) -> Product | None:
    """The catalogue entry ``product_id``, or None."""
    return session.get(Product, product_id)


def missing_products(session: Session, product_ids: Iterable[str]) -> set[str]:
    """Those of ``product_ids`` that are not in the catalogue (to report per-item errors before ingest)."""
    wanted = set(product_ids)
    found: set[str] = set()
    ids = sorted(wanted)
    for start in range(0, len(ids), UPSERT_CHUNK):
        part = ids[start : start + UPSERT_CHUNK]
        found.update(session.scalars(select(Product.product_id).where(Product.product_id.in_(part))))
    return wanted - found


def list_products(session: Session) -> list[Product]:
    """The whole catalogue, by id."""
    return list(session.scalars(select(Product).order_by(Product.product_id)))
