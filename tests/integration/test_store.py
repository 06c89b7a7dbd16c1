"""The review store on SQLite and PostgreSQL: migrations, idempotent and concurrent ingest, filters and
cursor pagination, report records, topic statistics and API keys. Analyses are hand-made (no model)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from api import store
from api.core.security import hash_key, role_allows
from api.db import (
    ApiKey,
    Base,
    Review,
    ReviewAspect,
    ReviewTopic,
    begin_read,
    make_engine,
    make_sessionmaker,
)
from api.db.migrate import current, downgrade, upgrade
from nlp.insights.report import AspectRecord, ReviewRecord

TABLES = {"products", "reviews", "review_aspects", "review_topics", "api_keys", "interactions"}
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(factory) -> Iterator[Session]:
    with factory() as session:
        yield session


def analysis(
    label: str = "positive", aspects: list[dict] | None = None, topics: list[dict] | None = None
) -> dict:
    """An analysis dict shaped like ``ReviewAnalysis.to_dict()``."""
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {label: 0.8}
    return {
        "sentiment": {"label": label, "scores": scores},
        "sentences": [],
        "aspects": aspects or [],
        "topics": topics or [],
        "entities": [],
        "model_version": "sentiment-vtest+topics-vtest",
    }


def aspect(
    text_: str, topic_id: int, label: str, sentiment: str, *opinions: str, term: str | None = None
) -> dict:
    out = {
        "text": text_,
        "offset": 4,
        "length": len(text_),
        "topic": {"id": topic_id, "label": label},
        "sentiment": {"label": sentiment, "scores": {"negative": 0.2, "neutral": 0.2, "positive": 0.6}},
        "opinions": [{"text": o, "offset": 0, "length": len(o), "negated": False} for o in opinions],
    }
    if term is not None:
        out["term"] = term
    return out


def catalogue(session: Session) -> None:
    store.upsert_products(
        session,
        [
            {"product_id": "coat", "name": "Wool coat", "category": "Outerwear", "price": "149.90"},
            {"product_id": "dress", "name": "Summer dress", "category": "Dresses", "price": 39.5},
            {"product_id": "scarf", "name": "Scarf", "category": "Outerwear", "description": "Soft"},
        ],
    )
    session.commit()


# ------------------------------------------------------------------------------------------ migrations


def test_migrations_create_every_table_matching_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert current(db_url) is None
    upgrade(db_url)
    upgrade(db_url)  # at head: a no-op
    assert current(db_url) == "0003"
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []  # the hand-written migration == models
            reviews = inspect(connection)
            uniques = [set(u["column_names"]) for u in reviews.get_unique_constraints("reviews")]
            assert {"source", "external_id"} in uniques
            indexed = {tuple(ix["column_names"]) for ix in reviews.get_indexes("reviews")}
            assert {("product_id", "created_at"), ("sentiment",)} <= indexed
    finally:
        engine.dispose()
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_sqlite_file_connections_are_not_capped(tmp_path):
    # 20 clients during a bulk load held more than SQLAlchemy's default 5 + 10 pooled connections (a request
    # holds its session's and its key lookup's): the next one waited 30 s for the pool and failed with a 503
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", pool_timeout=1)
    connections = [engine.connect() for _ in range(40)]
    try:
        assert engine.pool.checkedout() == 40  # type: ignore[attr-defined]
    finally:
        for connection in connections:
            connection.close()
        engine.dispose()


def test_a_write_in_a_read_transaction_is_refused_on_sqlite(tmp_path):
    """A deferred (read) transaction that later writes fails at random on SQLite ("database is locked" once
    another writer commits first), so it is refused every time."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            begin_read(session)
            store.get_product(session, "coat")
            with pytest.raises(RuntimeError, match="read transaction"):
                store.upsert_products(session, [{"product_id": "coat", "name": "Coat"}])
            session.rollback()
            assert store.upsert_products(session, [{"product_id": "coat", "name": "Coat"}]) == 1
            session.commit()
    finally:
        engine.dispose()


# -------------------------------------------------------------------------------------------- products


def test_upsert_products_inserts_then_updates_only_given_fields(session):
    catalogue(session)
    coat = store.get_product(session, "coat")
    assert coat is not None and coat.price == Decimal("149.90") and coat.category == "Outerwear"
    first_created = coat.created_at
    assert (
        store.upsert_products(session, [{"product_id": "coat", "name": "Wool coat II", "price": "120"}]) == 1
    )
    session.commit()
    coat = store.get_product(session, "coat")
    assert coat is not None
    assert (coat.name, coat.price, coat.category) == ("Wool coat II", Decimal("120.00"), "Outerwear")
    assert coat.created_at == first_created
    assert store.get_product(session, "nope") is None
    assert store.missing_products(session, ["coat", "nope"]) == {"nope"}
    with pytest.raises(ValueError, match="name"):
        store.upsert_products(session, [{"product_id": "x", "name": " "}])
    with pytest.raises(ValueError, match="price"):
        store.upsert_products(session, [{"product_id": "x", "name": "X", "price": "cheap"}])


# --------------------------------------------------------------------------------------------- reviews


def test_ingest_is_idempotent_on_source_and_external_id(session):
    catalogue(session)
    item = {
        "product_id": "coat",
        "text": "Warm and soft.",
        "rating": 5,
        "source": "shop",
        "external_id": "r1",
    }
    [(first, created)] = store.add_reviews(session, [item], [analysis()])
    session.commit()
    assert created and first.id is not None
    [(again, created_again)] = store.add_reviews(session, [dict(item, text="edited")], [analysis("negative")])
    session.commit()
    assert not created_again and again.id == first.id and again.text == "Warm and soft."
    # same id from another source is another review; duplicates inside one batch are stored once
    batch = [dict(item, source="other"), dict(item, source="other"), {"product_id": "coat", "text": "No id"}]
    results = store.add_reviews(session, batch, [analysis()] * 3)
    session.commit()
    assert [c for _, c in results] == [True, False, True]
    assert results[0][0].id == results[1][0].id
    assert store.count_reviews(session) == 3
    # without external_id there is no idempotency key: each call stores a review
    store.add_reviews(session, [{"product_id": "coat", "text": "No id"}], [analysis()])
    session.commit()
    assert store.count_reviews(session) == 4


def test_review_fields_and_analysis_tables_are_stored(session):
    catalogue(session)
    created = datetime(2024, 5, 2, 9, 30, tzinfo=UTC) + timedelta(hours=2)
    the_analysis = analysis(
        "negative",
        aspects=[aspect("Sleeves", 3, "fit", "negative", "too long", term="sleeve")],
        topics=[{"id": 3, "label": "fit", "score": 1.0}],
    )
    item = {
        "product_id": "coat", "text": "Sleeves too long.", "title": "Meh", "rating": 2,
        "created_at": "2024-05-02T13:30:00+02:00", "author_id": "u9",
    }  # fmt: skip
    [(review, _)] = store.add_reviews(session, [item], [the_analysis])
    session.commit()
    stored = store.get_review(session, review.id)
    assert stored is not None
    assert stored.created_at == created and stored.created_at.tzinfo is not None
    assert (stored.source, stored.external_id, stored.rating, stored.sentiment) == (
        "api",
        None,
        2,
        "negative",
    )
    assert stored.scores["negative"] == pytest.approx(0.8)
    assert stored.analysis["aspects"][0]["text"] == "Sleeves"
    [asp] = session.scalars(select(ReviewAspect)).all()
    assert (asp.term, asp.topic_id, asp.topic_label, asp.opinions, asp.product_id) == (
        "sleeve", 3, "fit", ["too long"], "coat"
    )  # fmt: skip
    [topic] = session.scalars(select(ReviewTopic)).all()
    assert (topic.review_id, topic.topic_id, topic.score) == (review.id, 3, 1.0)
    with pytest.raises(ValueError, match="rating"):
        store.add_reviews(session, [dict(item, rating=6)], [the_analysis])
    with pytest.raises(ValueError, match="created_at"):  # the API's rules, whoever calls the store
        store.add_reviews(session, [dict(item, created_at="1990-05-01")], [the_analysis])
    with pytest.raises(ValueError, match="analyses"):
        store.add_reviews(session, [item], [])
    # deleting a review deletes its aspects and topics (ON DELETE CASCADE)
    session.execute(Review.__table__.delete())
    session.commit()
    assert session.scalar(select(func.count()).select_from(ReviewAspect)) == 0
    assert session.scalar(select(func.count()).select_from(ReviewTopic)) == 0


def test_unknown_product_is_a_clear_error_and_stores_nothing(session):
    catalogue(session)
    items = [{"product_id": "coat", "text": "fine"}, {"product_id": "ghost", "text": "who?"}]
    with pytest.raises(store.UnknownProductError) as caught:
        store.add_reviews(session, items, [analysis(), analysis()])
    assert caught.value.product_id == "ghost" and "ghost" in str(caught.value)
    session.rollback()
    assert store.count_reviews(session) == 0


def _seed(session: Session) -> list[Review]:
    """23 reviews over 3 products, with ties in created_at (pagination must break them by id)."""
    catalogue(session)
    items, analyses = [], []
    for i in range(23):
        product = ["coat", "dress", "scarf"][i % 3]
        label = ["positive", "negative", "neutral"][i % 3 if i % 5 else 1]
        topic = 1 if i % 2 else 2
        items.append({
            "product_id": product, "text": f"review {i}", "rating": 1 + i % 5, "external_id": f"x{i}",
            "created_at": T0 + timedelta(days=i // 2),  # pairs share a timestamp
        })  # fmt: skip
        analyses.append(
            analysis(
                label,
                aspects=[aspect(f"part{i}", topic, f"topic{topic}", label, "nice")],
                topics=[{"id": topic, "label": f"topic{topic}", "score": 1.0}],
            )
        )
    stored = [r for r, _ in store.add_reviews(session, items, analyses)]
    session.commit()
    return stored


def _pages(session: Session, limit: int, **filters) -> list[Review]:
    out: list[Review] = []
    cursor = None
    for _ in range(100):
        page, cursor = store.list_reviews(session, cursor=cursor, limit=limit, **filters)
        assert len(page) <= limit
        out.extend(page)
        if cursor is None:
            return out
    raise AssertionError("pagination does not end")


def test_filters_and_cursor_pagination_return_every_row_exactly_once(session):
    stored = _seed(session)
    expected = sorted(stored, key=lambda r: (r.created_at, r.id), reverse=True)
    for limit in (1, 5, 23, 50):
        got = _pages(session, limit)
        assert [r.id for r in got] == [r.id for r in expected]

    def ids(**filters) -> set[int]:
        got = _pages(session, 4, **filters)
        assert len(got) == len({r.id for r in got})
        return {r.id for r in got}

    assert ids(product_id="dress") == {r.id for r in stored if r.product_id == "dress"}
    outerwear = {r.id for r in stored if r.product_id in ("coat", "scarf")}
    assert ids(category="Outerwear") == outerwear == ids(category="outerwear") == ids(category="OUTERWEAR")
    assert ids(sentiment="negative") == {r.id for r in stored if r.sentiment == "negative"}
    assert ids(topic_id=1) == {r.id for i, r in enumerate(stored) if i % 2}
    assert ids(category="Outerwear", sentiment="negative", topic_id=2) == {
        r.id for i, r in enumerate(stored) if r.id in outerwear and r.sentiment == "negative" and i % 2 == 0
    }
    # dates: both bounds inclusive; a date covers its whole day
    assert ids(date_from=T0 + timedelta(days=10)) == {r.id for r in stored[20:]}
    assert ids(date_to=T0) == {stored[0].id, stored[1].id}
    assert ids(date_from=date(2024, 3, 2), date_to=date(2024, 3, 2)) == {stored[2].id, stored[3].id}
    assert ids(product_id="nope") == set()
    with pytest.raises(store.InvalidCursorError):
        store.list_reviews(session, cursor="not-a-cursor")
    with pytest.raises(ValueError):
        store.list_reviews(session, limit=0)


def test_pagination_is_stable_while_reviews_arrive(session):
    stored = _seed(session)
    page, cursor = store.list_reviews(session, limit=10)
    store.add_reviews(session, [{"product_id": "coat", "text": "late", "created_at": T0 + timedelta(days=30)}],
                      [analysis()])  # fmt: skip
    session.commit()
    rest: list[Review] = []
    while cursor is not None:
        more, cursor = store.list_reviews(session, cursor=cursor, limit=10)
        rest.extend(more)
    assert sorted(r.id for r in page + rest) == sorted(r.id for r in stored)


def test_review_records_and_topic_stats_shapes(session):
    stored = _seed(session)
    records = store.review_records(session)
    assert len(records) == 23 and all(isinstance(r, ReviewRecord) for r in records)
    assert [r.created_at for r in records] == sorted(r.created_at for r in records)
    first = records[0]
    assert first.review_id == stored[0].id and first.category == "Outerwear" and first.product_id == "coat"
    assert first.rating == 1 and first.text == "review 0" and first.created_at.tzinfo is not None
    assert set(first.scores) == {"negative", "neutral", "positive"}
    assert first.aspects == (AspectRecord("part0", "part0", 2, "topic2", first.sentiment, ("nice",)),)
    assert first.topics == ((2, "topic2", 1.0),)
    assert {r.product_id for r in store.review_records(session, category="Dresses")} == {"dress"}
    assert {r.product_id for r in store.review_records(session, category="dresses")} == {"dress"}
    assert len(store.review_records(session, product_id="coat", date_to=T0 + timedelta(days=2))) == 2

    stats = store.topic_stats(session)
    assert set(stats) == {1, 2}
    for topic_id, entry in stats.items():
        members = [r for i, r in enumerate(stored) if (1 if i % 2 else 2) == topic_id]
        assert entry["label"] == f"topic{topic_id}"
        assert entry["size"] == len(members) == sum(entry["sentiment"].values())
        assert entry["mentions"] == len(members) == sum(entry["aspect_sentiment"].values())
        assert set(entry["sentiment"]) == {"negative", "neutral", "positive"}
        assert 1 <= len(entry["representative"]) <= 3
        member_ids = {r.id for r in members}
        for rep in entry["representative"]:
            assert rep["review_id"] in member_ids and rep["text"].startswith("review ")


def test_topic_stats_of_an_empty_store(session):
    assert store.topic_stats(session) == {}
    assert store.review_records(session) == []
    assert store.list_reviews(session) == ([], None)


# -------------------------------------------------------------------------------------------- API keys


def test_api_keys_create_find_revoke(session):
    key = store.create_api_key(session, "writer", name="ingest bot")
    session.commit()
    assert key.startswith("rp_") and len(key) > 40
    found = store.find_api_key(session, key)
    assert found is not None and found.role == "writer" and found.name == "ingest bot"
    assert found.key_hash == hash_key(key) and key not in (found.key_hash, found.prefix)
    assert found.prefix == key[:8]
    assert store.find_api_key(session, key + "x") is None
    assert store.find_api_key(session, "") is None
    other = store.create_api_key(session, "reader")
    session.commit()
    assert other != key
    assert store.revoke_api_key(session, found.id)
    session.commit()
    assert store.find_api_key(session, key) is None
    assert not store.revoke_api_key(session, found.id)
    assert [k.role for k in store.list_api_keys(session)] == ["reader"]
    assert len(store.list_api_keys(session, include_revoked=True)) == 2
    assert all(k.key_hash != key for k in session.scalars(select(ApiKey)))
    with pytest.raises(ValueError, match="role"):
        store.create_api_key(session, "root")


def test_role_order():
    assert role_allows("admin", "reader") and role_allows("writer", "writer")
    assert not role_allows("reader", "writer") and not role_allows("writer", "admin")
    assert not role_allows("root", "reader") and not role_allows("admin", "root")


# ----------------------------------------------------------------------------------------- concurrency


def test_concurrent_ingest_stores_each_acknowledged_review_once(factory, session):
    catalogue(session)
    threads, per_thread = 8, 25
    acknowledged: list[set[str]] = [set() for _ in range(threads)]
    created: list[int] = [0] * threads
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        try:
            # ids overlap across threads (id k is sent by up to 3 threads); half the threads send one
            # review per transaction, the others whole batches
            ids = [f"c{(t * per_thread + i * 3) % 90}" for i in range(per_thread)]
            items = [
                {"product_id": "coat", "text": f"text {x}", "source": "load", "external_id": x} for x in ids
            ]
            start.wait()
            batches = [items] if t % 2 else [[item] for item in items]
            for batch in batches:
                with factory() as s:
                    results = store.add_reviews(s, batch, [analysis()] * len(batch))
                    s.commit()
                acknowledged[t].update(r.external_id for r, _ in results if r.external_id)
                created[t] += sum(c for _, c in results)
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not failures, failures
    unique = set().union(*acknowledged)
    assert len(unique) > per_thread  # there really were duplicates across threads
    assert sum(len(a) for a in acknowledged) == threads * per_thread
    session.expire_all()
    assert store.count_reviews(session) == len(unique) == sum(created)
    stored = set(session.scalars(select(Review.external_id)))
    assert stored == unique
