"""``reviewpulse train topics --from-store`` on a real store (a SQLite file and the suite's PostgreSQL) that
holds clothing reviews only, analysed by the real Analyzer: the shop's new topics hold no food terms (the
shipped v1, learned with fine-food reviews, does), and the stored reviews, the report and the registry then
carry them. The command runs as a shop runs it, in its own process, on a copy of the model registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api import store
from api.cli.main import app
from api.core.config import get_settings
from api.db import Review, ReviewAspect, ReviewTopic, make_engine, make_sessionmaker
from api.db.migrate import upgrade
from nlp.analysis.topics import TopicModel
from nlp.artifacts.paths import PROJECT_ROOT
from nlp.artifacts.registry import Registry
from nlp.insights.report import sentiment_report
from tests.conftest import models_copy, needs_datasets

#: Terms of the food reviews that a clothing shop's topics must not show (v1's "flavor, taste, chip" and
#: "product, amazon, thank" topics).
FOOD = {
    "flavor",
    "taste",
    "chip",
    "amazon",
    "food",
    "coffee",
    "chocolate",
    "sugar",
    "snack",
    "cookie",
    "pancake",
}
REVIEWS = 800


@pytest.fixture(scope="module")
def clothing(analyzer) -> tuple[list[dict], list[dict], list[dict]]:
    """``(products, reviews, analyses)``: the first clothing reviews of the train split, analysed once."""
    from nlp.training.datasets import clothing_reviews

    frame = clothing_reviews()
    frame = frame[frame.split == "train"].head(REVIEWS)
    products = [
        {"product_id": pid, "name": f"Item {pid}", "category": cat}
        for pid, cat in frame.groupby("product_id")["category"].first().items()
    ]
    reviews = [
        {"product_id": r.product_id, "text": r.text, "rating": int(r.rating), "external_id": str(r.id)}
        for r in frame.itertuples()
    ]
    analyses = [a.to_dict() for a in analyzer.analyze([r["text"] for r in reviews])]
    return products, reviews, analyses


def _terms(model: TopicModel) -> set[str]:
    return {term for topic in model.topics for term, _ in topic.terms}


@needs_datasets
def test_a_clothing_shop_learns_its_own_topics(db_url, clothing, tmp_path):
    products, reviews, analyses = clothing
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            store.upsert_products(session, products)
            store.add_reviews(session, reviews, analyses)
            session.commit()
        models = models_copy(tmp_path / "models")
        mixed = TopicModel.load(Registry(models).path("topics", "1"))  # learned with fine-food reviews too
        assert FOOD & _terms(mixed), "v1 shows food terms: the check below can fail"
        new = str(max(int(v) for v in Registry(models).versions("topics")) + 1)

        done = subprocess.run(
            [str(Path(sys.executable).parent / "reviewpulse"), "train", "topics", "--from-store"],
            capture_output=True,
            timeout=900,
            env={
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": str(PROJECT_ROOT),
                "REVIEWPULSE_MODELS_DIR": str(models),
                "REVIEWPULSE_DATABASE_URL": db_url,
            },
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        metrics = json.loads(done.stdout)
        assert metrics["documents"] + metrics["held_out_documents"] == REVIEWS
        assert f"{REVIEWS} stored reviews now carry topics v{new}" in done.stderr.decode()

        registry = Registry(models)
        assert registry.get("topics").version == new  # what every new analysis loads
        card = (registry.path("topics") / "MODEL_CARD.md").read_text()
        assert "the store's reviews" in card and "BERTopic-style" in card
        shop = TopicModel.load(registry.path("topics"))
        assert not FOOD & _terms(shop), FOOD & _terms(shop)
        labels = {t.label for t in shop.topics}

        with make_sessionmaker(engine)() as session:
            versions = set(session.scalars(select(Review.model_version)))
            assert versions and all(v.endswith(f"+topics-v{new}") for v in versions), versions
            assert set(session.scalars(select(ReviewTopic.label))) <= labels | {"outlier"}
            assert set(session.scalars(select(ReviewAspect.topic_label))) <= labels | {"outlier"}
            analysis = session.scalars(
                select(Review.analysis).where(Review.external_id == reviews[0]["external_id"])
            ).one()
            assert {t["label"] for t in analysis["topics"]} <= labels | {"outlier"}
            report = sentiment_report(store.review_records(session))
            shown = {d["name"] for d in report["drivers"]["topics"]}
            assert shown and shown <= labels
            assert not {w for label in shown for w in label.split(", ")} & FOOD
            dresses = store.review_texts(session, "DRESSES")  # any case, as the report's filter
            assert 0 < len(dresses) < REVIEWS
    finally:
        engine.dispose()


def test_from_store_options_are_checked_first(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REVIEWPULSE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["train", "topics", "--category", "Dresses"])
        assert result.exit_code == 2 and "use it with --from-store" in result.output
        result = runner.invoke(app, ["train", "topics", "--from-store", "--data", "x.csv"])
        assert result.exit_code == 2 and "give one" in result.output
        result = runner.invoke(app, ["train", "topics", "--from-store", "--category", "Hats"])
        assert result.exit_code == 2 and "no stored reviews in category 'Hats'" in result.output
    finally:
        get_settings.cache_clear()
