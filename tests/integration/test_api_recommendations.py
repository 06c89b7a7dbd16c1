"""``GET /v1/recommendations`` against the real store, loaded through the CLI with a real subset of the UCI
Online Retail transactions (the first 8,000 lines, cleaned as ``reviewpulse evaluate recommend`` cleans
them) and their products from ``products_derived.csv``, with the real MiniLM content index.

The UCI catalogue has no categories, so the test gives each product one from a keyword of its name
(``BAG`` -> Bags, ``CANDLE`` / ``LIGHT`` / ``LANTERN`` -> Lights, ``MUG`` / ``CUP`` / ``TEA`` -> Tableware,
else Gifts) to exercise the category filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api import store
from api.cli.main import app as cli
from api.core.config import get_settings
from nlp.artifacts.paths import nlp_settings
from nlp.recommend.evaluation import clean_retail, read_retail
from nlp.recommend.recommender import content_terms
from tests.conftest import make_client, make_key

pytestmark = pytest.mark.datasets("uci_online_retail/online_retail_transactions.csv.gz")
KEYWORDS = {"Bags": ("BAG",), "Lights": ("CANDLE", "LIGHT", "LANTERN"), "Tableware": ("MUG", "CUP", "TEA")}


def _category(name: str) -> str:
    return next((cat for cat, words in KEYWORDS.items() if any(w in name for w in words)), "Gifts")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Iterator[tuple[Path, pd.DataFrame, pd.DataFrame]]:
    """A data directory loaded with ``reviewpulse load products`` and ``reviewpulse load interactions``."""
    folder = tmp_path_factory.mktemp("recommend")
    retail = nlp_settings().datasets_dir / "uci_online_retail"
    lines, _ = clean_retail(read_retail(str(retail / "online_retail_transactions.csv.gz")).head(8000))
    interactions = folder / "interactions.csv.gz"
    lines[["CustomerID", "StockCode", "Quantity", "InvoiceDate"]].to_csv(interactions, index=False)
    products = pd.read_csv(retail / "products_derived.csv", dtype={"StockCode": str}).dropna(
        subset=["Description"]
    )
    products = products[products["StockCode"].str.upper().isin(set(lines["StockCode"]))].copy()
    products["Category"] = products["Description"].map(_category)
    products_file = folder / "products.csv"
    products.to_csv(products_file, index=False)
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVIEWPULSE_DATA_DIR", str(folder))
        mp.delenv("REVIEWPULSE_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        loaded = runner.invoke(cli, ["load", "products", str(products_file), "--id-col", "StockCode",
                                     "--name-col", "Description", "--category-col", "Category",
                                     "--description-col", "", "--price-col", "MedianUnitPrice", "--quiet"])  # fmt: skip
        assert loaded.exit_code == 0, loaded.output
        loaded = runner.invoke(cli, ["load", "interactions", str(interactions), "--user-col", "CustomerID",
                                     "--product-col", "StockCode", "--quantity-col", "Quantity",
                                     "--timestamp-col", "InvoiceDate", "--quiet"])  # fmt: skip
        assert loaded.exit_code == 0, loaded.output
        assert f"added: {len(lines)}" in loaded.output
        get_settings.cache_clear()
    yield folder, lines, products.set_index("StockCode")


@pytest.fixture(scope="module")
def api(data_dir, analyzer):
    folder, lines, products = data_dir
    with make_client(folder, analyzer) as client:
        client.reader = make_key(client, "reader")
        client.lines, client.products = lines, products
        yield client


def _get(api, **params):
    return api.get("/v1/recommendations", params=params, headers=api.reader)


def test_also_bought_with_reasons(api):
    top = api.lines.groupby("StockCode")["CustomerID"].nunique().idxmax()
    response = _get(api, product_id=top, k=5)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["strategy"] == "also_bought" and len(data["items"]) == 5
    name = api.products.loc[top, "Description"]
    for item in data["items"]:
        assert item["product_id"] != top and item["name"]
        assert item["reasons"][0].startswith(f"bought together with {name} by ")


def test_for_you_from_a_customers_history(api):
    customer = api.lines.groupby("CustomerID")["StockCode"].nunique().idxmax()
    data = _get(api, user_id=customer).json()
    assert data["strategy"] == "for_you" and len(data["items"]) == 10
    bought = set(api.lines.loc[api.lines["CustomerID"] == customer, "StockCode"])
    assert not bought & {i["product_id"] for i in data["items"]}
    assert all(i["reasons"] for i in data["items"])


def test_query_with_category_and_price_filters(api):
    data = _get(api, q="scented candle", category="Lights", max_price=2.0, k=20).json()
    assert data["items"] and data["strategy"].startswith("query")
    for item in data["items"]:
        row = api.products.loc[item["product_id"]]
        assert row["Category"] == "Lights" and row["MedianUnitPrice"] <= 2.0
        assert item["reasons"][0].startswith("matches ") and _matched_words_are_in_the_name(item)
    assert any("CANDLE" in i["name"] for i in data["items"][:5])
    assert any(i["reasons"][0] == 'matches "scented candle"' for i in data["items"])


def _matched_words_are_in_the_name(item: dict) -> bool:
    """Whether every word a ``matches "..."`` reason of the item quotes is one of its name's (the catalogue has
    no descriptions and the store no reviews, so a query can match nothing else)."""
    claimed = [r.removeprefix("matches ") for r in item["reasons"] if r.startswith("matches ")]
    return all(set(content_terms(words)) <= set(content_terms(item["name"])) for words in claimed)


def test_a_query_no_product_mentions_gives_an_empty_list_and_no_false_match(api):
    """QA: "xqzzv blorp" matched a tea, and "cheap headphones" (max_price 10) another."""
    data = _get(api, q="xqzzv blorp", k=3).json()
    assert data == {"items": [], "strategy": "none",
                    "reason": 'no product or review mentions any word of "xqzzv blorp"'}  # fmt: skip
    data = _get(api, q="cheap headphones", max_price=10, k=3).json()
    assert all(_matched_words_are_in_the_name(item) for item in data["items"])
    assert data["items"] or data["reason"]


def test_cold_start_unknown_user_gets_popular_items_of_the_matched_category(api):
    data = _get(api, user_id="no-such-customer", category="Bags").json()
    assert data["strategy"] == "popular" and "no-such-customer" in data["reason"]
    assert data["items"] and all(
        api.products.loc[i["product_id"], "Category"] == "Bags" for i in data["items"]
    )
    assert all(i["reasons"][0].startswith("popular: bought by ") for i in data["items"])


def test_bad_parameters_and_unknown_product(api):
    for k in (0, 101):
        response = _get(api, k=k)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.k"
    missing = _get(api, product_id="NO-SUCH-SKU")
    assert missing.status_code == 404 and "NO-SUCH-SKU" in missing.json()["detail"]
    assert api.get("/v1/recommendations").status_code == 401


def test_recommender_is_cached_and_refreshed_when_interactions_change(api):
    _get(api, k=1)
    first = api.app.state.suggestions.recommender
    _get(api, k=1)
    assert api.app.state.suggestions.recommender is first
    customer = "test-new-customer"
    with api.app.state.sessionmaker() as session:
        store.add_interactions(session, [{"user_id": customer, "product_id": api.lines["StockCode"].iloc[0]}])
        session.commit()
    data = _get(api, user_id=customer).json()
    assert api.app.state.suggestions.recommender is not first
    assert data["strategy"] == "for_you" and data["items"]


def test_empty_store_gives_an_empty_list_with_a_reason(tmp_path, analyzer):
    with make_client(tmp_path, analyzer) as client:
        key = make_key(client, "reader")
        response = client.get("/v1/recommendations", params={"user_id": "anyone"}, headers=key)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["items"] == [] and data["strategy"] == "none" and data["reason"]
