"""``reviewpulse db|apikey|load`` end to end on a fresh data directory (SQLite), with the real Analyzer."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api import store
from api.cli.main import app
from api.core.config import get_settings
from api.db import Review, make_engine, make_sessionmaker
from nlp.analysis.analyzer import AnalysisError, ReviewAnalysis, Sentiment
from nlp.artifacts.registry import Registry
from tests.conftest import make_client, make_key

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Iterator[Path]:
    """``REVIEWPULSE_DATA_DIR`` at a new folder (the database is created by the first command)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("REVIEWPULSE_DATA_DIR", str(folder))
    monkeypatch.delenv("REVIEWPULSE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture
def open_session(data_dir):
    engines = []

    def opener():
        engine = make_engine(get_settings().db_url)
        engines.append(engine)
        return make_sessionmaker(engine)()

    yield opener
    for engine in engines:
        engine.dispose()


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


PRODUCTS = [
    {"sku": "coat", "title": "Wool coat", "category": "Outerwear", "description": "Warm", "price": "149.90"},
    {"sku": "dress", "title": "Summer dress", "category": "Dresses", "description": "", "price": ""},
    {"sku": "", "title": "No id", "category": "Dresses", "description": "", "price": "1"},
    {"sku": "hat", "title": "Hat", "category": "Accessories", "description": "", "price": "free"},
]


def test_db_upgrade_creates_the_database(data_dir):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "reviewpulse.db").exists()
    assert "at revision 0003" in result.output


def test_apikey_create_prints_the_key_alone_on_the_last_line(data_dir, open_session):
    result = runner.invoke(app, ["apikey", "create", "--role", "writer", "--name", "ingest bot"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key == result.stdout.strip()  # the key alone on stdout: KEY=$(reviewpulse apikey create ...)
    assert key.startswith("rp_") and " " not in key
    assert "writer" in result.output and "not be shown again" in result.output
    with open_session() as session:
        found = store.find_api_key(session, key)
        assert found is not None and found.role == "writer" and found.name == "ingest bot"
    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0 and key[:8] in listed.stdout and key not in listed.stdout
    assert runner.invoke(app, ["apikey", "revoke", str(found.id)]).exit_code == 0
    with open_session() as session:
        assert store.find_api_key(session, key) is None
    bad = runner.invoke(app, ["apikey", "create", "--role", "root"])
    assert bad.exit_code == 2 and "reader, writer, admin" in bad.output


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".jsonl", ".parquet"])
def test_load_products(tmp_path, data_dir, open_session, suffix):
    path = tmp_path / f"products{suffix}"
    frame = pd.DataFrame(PRODUCTS)
    if suffix == ".csv":
        _write_csv(path, PRODUCTS)
    elif suffix == ".csv.gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in PRODUCTS), encoding="utf-8")
    else:
        frame.to_parquet(path)
    args = ["load", "products", str(path), "--id-col", "sku", "--name-col", "title", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "rows: 4  upserted: 2  errors: 2" in result.output
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(e["row"], e["error"]["code"]) for e in errors] == [
        (2, "invalid_product"),
        (3, "invalid_product"),
    ]
    with open_session() as session:
        coat = store.get_product(session, "coat")
        dress = store.get_product(session, "dress")
        assert coat is not None and str(coat.price) == "149.90" and coat.category == "Outerwear"
        assert dress is not None and dress.price is None and dress.description is None
        assert store.get_product(session, "hat") is None
    # loading again updates, never duplicates
    assert runner.invoke(app, args).exit_code == 0
    with open_session() as session:
        assert store.missing_products(session, ["coat", "dress"]) == set()


def test_product_pattern_skips_postage_and_fee_codes(tmp_path, data_dir, open_session):
    codes = ["85123A", "POST", "22423", "BANK CHARGES"]
    catalogue = _write_csv(tmp_path / "c.csv", [{"StockCode": c, "Description": f"item {c}"} for c in codes])
    orders = _write_csv(tmp_path / "o.csv", [{"CustomerID": "12347", "StockCode": c} for c in codes])
    pattern = ["--product-pattern", r"\d{5}[A-Za-z]?", "--quiet"]
    products = runner.invoke(app, ["load", "products", str(catalogue), "--id-col", "StockCode",
                                   "--name-col", "Description", "--category-col", "", "--description-col", "",
                                   "--price-col", "", *pattern])  # fmt: skip
    assert products.exit_code == 0, products.output
    assert (
        "upserted: 2" in products.output
        and "skipped (product id not matching --product-pattern): 2" in products.output
    )
    added = runner.invoke(app, ["load", "interactions", str(orders), "--user-col", "CustomerID",
                                "--product-col", "StockCode", *pattern])  # fmt: skip
    assert added.exit_code == 0 and "added: 2" in added.output and "errors: 0" in added.output
    with open_session() as session:
        assert store.missing_products(session, ["85123A", "22423"]) == set()
        assert store.get_product(session, "POST") is None
        assert sorted(i[1] for i in store.iter_interactions(session)) == ["22423", "85123A"]


def test_load_products_reports_ids_no_url_can_reach(tmp_path, data_dir, open_session):
    rows = [{"sku": sku, "title": f"item {sku}"} for sku in ("ok-1", "a/b", "..")]
    path = _write_csv(tmp_path / "p.csv", rows)
    result = runner.invoke(app, ["load", "products", str(path), "--id-col", "sku", "--name-col", "title",
                                 "--category-col", "", "--description-col", "", "--price-col", "", "--quiet"])  # fmt: skip
    assert result.exit_code == 0 and "upserted: 1" in result.output, result.output
    errors = {e["row"]: e["error"]["code"] for e in map(json.loads, _json_lines(result.stderr))}
    assert errors == {1: "invalid_product", 2: "invalid_product"}
    with open_session() as session:
        assert [p.product_id for p in store.list_products(session)] == ["ok-1"]


def test_load_products_refuses_a_row_with_bytes_that_are_not_utf8(tmp_path, data_dir, open_session):
    """Not stored with replacement characters, nor a crash of the load: an error record naming the row."""
    path = tmp_path / "p.csv"
    path.write_bytes(b"sku,title\nok-1,Linen dress\nbad-1,Caf\xe9 coat\n")
    result = runner.invoke(app, ["load", "products", str(path), "--id-col", "sku", "--name-col", "title",
                                 "--category-col", "", "--description-col", "", "--price-col", "", "--quiet"])  # fmt: skip
    assert result.exit_code == 0 and "upserted: 1" in result.output, result.output
    errors = [json.loads(line) for line in _json_lines(result.stderr)]
    assert errors == [{"row": 1, "error": {"code": "undecodable_text",
                                           "message": "column 'title' holds bytes that are not valid UTF-8"}}]  # fmt: skip
    with open_session() as session:
        assert [p.product_id for p in store.list_products(session)] == ["ok-1"]


def test_load_products_names_a_missing_column(tmp_path, data_dir):
    path = _write_csv(tmp_path / "p.csv", PRODUCTS)
    result = runner.invoke(app, ["load", "products", str(path), "--id-col", "nope", "--name-col", "title"])
    assert result.exit_code == 2
    assert "'nope' not found" in result.output and "sku" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_load_products_skips_an_absent_default_optional_column_with_a_note(
    tmp_path, data_dir, open_session, suffix
):
    rows = [{"product_id": "p1", "name": "Wool coat", "price": 120.0}]  # no category, no description
    path = tmp_path / f"p{suffix}"
    if suffix == ".csv":
        _write_csv(path, rows)
    elif suffix == ".jsonl":
        path.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    else:
        pd.DataFrame(rows).to_parquet(path)
    result = runner.invoke(app, ["load", "products", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "no 'category' column" in result.stderr and "no 'description' column" in result.stderr
    assert "price" not in result.stderr and "upserted: 1" in result.stderr
    with open_session() as session:
        coat = store.get_product(session, "p1")
        assert coat is not None and coat.category is None and float(coat.price) == 120.0
    # a column named on the command line must be there: a typo is an error, not a note
    named = runner.invoke(app, ["load", "products", str(path), "--category-col", "categroy"])
    assert named.exit_code == 2 and "'categroy' not found" in named.output


class StubAnalyzer:
    """Stands in for :class:`nlp.analysis.analyzer.Analyzer` where the CLI's own logic is under test: "broke" reads
    negative, anything else positive; non-text is an ``AnalysisError`` as the real one reports it."""

    loads = 0

    def __init__(self, entities: bool = True) -> None:
        assert not entities, "the store keeps no entities: the loader skips their recogniser"
        StubAnalyzer.loads += 1

    def analyze(self, texts):
        out = []
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                out.append(AnalysisError("empty_text", "text is empty or whitespace only"))
                continue
            label = "negative" if "broke" in text else "positive"
            scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {label: 0.8}
            out.append(ReviewAnalysis(text, Sentiment(label, scores), [], [], [], [], "stub-v1"))
        return out


@pytest.fixture(params=["stub", "real"])
def analyzer_kind(request, monkeypatch) -> str:
    """``stub``: the CLI logic alone; ``real``: the registered models (committed in models/)."""
    if request.param == "stub":
        StubAnalyzer.loads = 0
        monkeypatch.setattr("nlp.analysis.analyzer.Analyzer", StubAnalyzer)
    elif not Registry().versions("sentiment"):
        pytest.fail(
            "no sentiment model registered in models/registry.json: restore models/ from git "
            "(or train one: reviewpulse train sentiment)",
            pytrace=False,
        )
    return str(request.param)


def test_load_reviews_without_models_fails_cleanly(tmp_path, data_dir, monkeypatch):
    def missing(*args, **kwargs):
        raise KeyError("no model 'sentiment' version 'latest'; known: none")

    monkeypatch.setattr("nlp.analysis.analyzer.Analyzer", missing)
    _write_csv(tmp_path / "p.csv", PRODUCTS[:1])
    assert runner.invoke(app, ["load", "products", str(tmp_path / "p.csv"), "--id-col", "sku",
                               "--name-col", "title", "--quiet"]).exit_code == 0  # fmt: skip
    path = _write_csv(tmp_path / "r.csv", [{"product_id": "coat", "text": "Warm."}])
    result = runner.invoke(app, ["load", "reviews", str(path), "--quiet"])
    assert result.exit_code == 2
    assert "cannot load the models: no model 'sentiment'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_load_reviews_reports_bad_rows_and_is_idempotent(tmp_path, data_dir, open_session, analyzer_kind):
    products = _write_csv(tmp_path / "products.csv", [r for r in PRODUCTS if r["sku"] in ("coat", "dress")])
    assert runner.invoke(app, ["load", "products", str(products), "--id-col", "sku", "--name-col", "title",
                               "--quiet"]).exit_code == 0  # fmt: skip
    rows = [
            {"id": "r1", "product": "coat", "body": "The wool is so soft and warm, I love it.", "stars": "5",
             "date": "2024-03-01T10:00:00Z", "head": "Lovely"},
            {"id": "r2", "product": "dress", "body": "The zipper broke after one wear.", "stars": "1",
             "date": "2024-03-02", "head": ""},
            {"id": "r3", "product": "dress", "body": "   ", "stars": "3", "date": "", "head": ""},
            {"id": "r4", "product": "ghost", "body": "Where is this product?", "stars": "4", "date": "",
             "head": ""},
            {"id": "r5", "product": "coat", "body": "Fits well but the sleeves are long.", "stars": "4",
             "date": "2024-03-05T08:00:00+01:00", "head": ""},
    ]  # fmt: skip
    reviews = _write_csv(tmp_path / "reviews.csv", rows)
    args = [
        "load", "reviews", str(reviews), "--product-col", "product", "--text-col", "body",
        "--title-col", "head", "--rating-col", "stars", "--created-col", "date",
        "--external-id-col", "id", "--source", "shop", "--quiet",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "rows: 5  stored: 3  duplicates: 0  errors: 2" in result.output
    errors = {e["row"]: e["error"]["code"] for e in map(json.loads, _json_lines(result.stderr))}
    assert errors == {2: "empty_text", 3: "unknown_product"}
    with open_session() as session:
        stored = {r.external_id: r for r in session.scalars(select(Review))}
    assert set(stored) == {"r1", "r2", "r5"}
    assert stored["r1"].rating == 5 and stored["r1"].title == "Lovely" and stored["r1"].source == "shop"
    assert stored["r1"].created_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert stored["r5"].created_at.isoformat() == "2024-03-05T07:00:00+00:00"
    assert stored["r2"].sentiment == "negative" and stored["r1"].sentiment == "positive"
    assert stored["r1"].analysis["model_version"] == stored["r1"].model_version
    assert stored["r1"].text == "The wool is so soft and warm, I love it."
    # the title is read before the text, and the stored offsets index what was read
    assert stored["r1"].analysis["text"] == "Lovely. The wool is so soft and warm, I love it."
    # a second run stores nothing new
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "rows: 5  stored: 0  duplicates: 3  errors: 2" in again.output
    # and rows already stored are not analysed again: a file of them alone never loads the models
    loads = StubAnalyzer.loads
    args[2] = str(_write_csv(tmp_path / "again.csv", [rows[0], rows[1], rows[4]]))
    rerun = runner.invoke(app, args)
    assert rerun.exit_code == 0, rerun.output
    assert "rows: 3  stored: 0  duplicates: 3  errors: 0" in rerun.output
    assert StubAnalyzer.loads == loads


#: Reviews that ``POST /v1/reviews`` refuses (422 naming the field), which the bulk loader must refuse by the
#: same rules: ``(CSV cells changed, the same change in a JSON body, the field, the loader's error code)``.
REFUSED = [
    ({"date": "1990-05-01"}, {"created_at": "1990-05-01"}, "created_at", "invalid_date"),
    ({"date": "2099-01-01T00:00:00Z"}, {"created_at": "2099-01-01T00:00:00Z"}, "created_at", "invalid_date"),
    ({"stars": "4.5"}, {"rating": 4.5}, "rating", "invalid_rating"),
    ({"body": "Warm. " * 3_400}, {"text": "Warm. " * 3_400}, "text", "invalid_text"),
    ({"head": "t" * 501}, {"title": "t" * 501}, "title", "invalid_title"),
    ({"body": "Warm\x00 and soft."}, {"text": "Warm\x00 and soft."}, "text", "invalid_text"),
]


def test_load_reviews_refuses_what_the_api_refuses(tmp_path, data_dir, open_session, analyzer):
    products = _write_csv(tmp_path / "products.csv", [r for r in PRODUCTS if r["sku"] == "coat"])
    assert runner.invoke(app, ["load", "products", str(products), "--id-col", "sku", "--name-col", "title",
                               "--quiet"]).exit_code == 0  # fmt: skip
    valid = {"product": "coat", "body": "Warm and soft.", "stars": "5", "date": "2024-03-01", "head": "Cosy"}
    rows = [valid | cells | {"id": f"bad{k}"} for k, (cells, *_) in enumerate(REFUSED)] + [
        valid | {"id": "ok"}
    ]
    result = runner.invoke(app, [
        "load", "reviews", str(_write_csv(tmp_path / "reviews.csv", rows)), "--product-col", "product",
        "--text-col", "body", "--title-col", "head", "--rating-col", "stars", "--created-col", "date",
        "--external-id-col", "id", "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    errors = {e["row"]: e["error"] for e in map(json.loads, _json_lines(result.stderr))}
    assert {row: error["code"] for row, error in errors.items()} == {k: r[3] for k, r in enumerate(REFUSED)}
    assert all(error["message"].startswith(REFUSED[row][2]) for row, error in errors.items())
    with open_session() as session:
        assert [r.external_id for r in session.scalars(select(Review))] == ["ok"]

    with make_client(tmp_path / "api", analyzer) as client:
        key = make_key(client, "admin")
        client.post("/v1/products", json={"product_id": "coat", "name": "Wool coat"}, headers=key)
        review = {"product_id": "coat", "text": "Warm and soft.", "rating": 5, "created_at": "2024-03-01"}
        assert client.post("/v1/reviews", json=review, headers=key).status_code == 201
        for _, change, field, _ in REFUSED:
            response = client.post("/v1/reviews", json=review | change, headers=key)
            assert response.status_code == 422 and response.json()["errors"][0]["field"].endswith(field)


def test_load_reviews_reports_a_malformed_csv_line_and_names_an_empty_file(tmp_path, data_dir, analyzer_kind):
    _write_csv(tmp_path / "p.csv", PRODUCTS[:1])
    assert runner.invoke(app, ["load", "products", str(tmp_path / "p.csv"), "--id-col", "sku",
                               "--name-col", "title", "--quiet"]).exit_code == 0  # fmt: skip
    path = tmp_path / "r.csv"
    path.write_text('product_id,text\ncoat,Warm.\ncoat,"So soft",x,y\ncoat,Lovely.\n', encoding="utf-8")
    result = runner.invoke(app, ["load", "reviews", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "rows: 3  stored: 2  duplicates: 0  errors: 1" in result.output
    [error] = map(json.loads, _json_lines(result.stderr))
    assert error == {
        "row": 1,
        "error": {"code": "malformed_row", "message": "line 3 has 4 fields where the header has 2"},
    }
    path.write_bytes(b"")
    empty = runner.invoke(app, ["load", "reviews", str(path), "--quiet"])
    assert empty.exit_code == 2 and f"{path} is empty (no header row)" in empty.output


@pytest.mark.parametrize("source", ["", "x" * 65])
def test_load_reviews_checks_its_source_before_reading(tmp_path, data_dir, source):
    path = _write_csv(tmp_path / "r.csv", [{"product_id": "coat", "text": "Warm."}])
    result = runner.invoke(app, ["load", "reviews", str(path), "--source", source, "--quiet"])
    assert result.exit_code == 2 and "--source" in result.output and "character" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_load_reviews_leaves_the_store_writable_while_it_analyses(tmp_path, data_dir, monkeypatch):
    """The loader holds no transaction while models load and chunks are analysed: the service can write
    (and read) meanwhile, and each chunk is written in a short transaction of its own."""
    probes: list[str] = []

    class ProbingAnalyzer(StubAnalyzer):
        def __init__(self, entities: bool = True) -> None:
            super().__init__(entities)
            self.probe()  # while the models load

        def analyze(self, texts):
            self.probe()
            return super().analyze(texts)

        def probe(self) -> None:
            other = sqlite3.connect(data_dir / "reviewpulse.db", timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                probes.append("free")
            except sqlite3.OperationalError as exc:
                probes.append(str(exc))
            finally:
                other.close()

    monkeypatch.setattr("nlp.analysis.analyzer.Analyzer", ProbingAnalyzer)
    products = _write_csv(tmp_path / "products.csv", PRODUCTS[:1])
    assert runner.invoke(app, ["load", "products", str(products), "--id-col", "sku", "--name-col", "title",
                               "--quiet"]).exit_code == 0  # fmt: skip
    rows = [{"id": f"r{i}", "product": "coat", "body": f"Warm coat number {i}."} for i in range(7)]
    reviews = _write_csv(tmp_path / "reviews.csv", rows)
    result = runner.invoke(app, ["load", "reviews", str(reviews), "--product-col", "product", "--text-col",
                                 "body", "--external-id-col", "id", "--chunk-size", "3", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stored: 7" in result.output
    assert probes == ["free"] * 4  # at the model load and at each of the 3 chunks


def _json_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("{")]
