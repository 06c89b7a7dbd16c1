"""Shared fixtures of the three tiers: the real analyzer over the committed models, the shared datasets
(``needs_datasets``, ``pytest.mark.datasets``), an empty database on SQLite and on PostgreSQL (``db_url``),
the API through TestClient (``api``, ``make_client``, ``make_key``) and served on loopback (``server``).
What a test needs and cannot find makes it fail, saying what to install or set."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api import store
from api.core.config import Settings
from api.db import make_engine
from api.service.analysis import AnalysisService
from api.service.app import create_app
from nlp.artifacts.paths import PROJECT_ROOT, nlp_settings
from tests.live import api_server

EXAMPLES = PROJECT_ROOT / "examples" / "reviews.csv"

#: A test that reads the shared clothing reviews; ``pytest.mark.datasets(path, ...)`` names other files or
#: folders of the shared datasets. Absent, the test fails saying where they were looked for.
needs_datasets = pytest.mark.datasets("womens_clothing_reviews")


POSTGRES_URL = os.environ.get(
    "REVIEWPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable() -> str | None:
    engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string()}: {exc.__class__.__name__}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    return _postgres_unavailable()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, postgres_reason) -> Iterator[str]:
    """A URL to an empty database: a fresh SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if postgres_reason:
        pytest.fail(
            f"{postgres_reason}. The store's tests run on PostgreSQL too: start it, or point "
            "REVIEWPULSE_TEST_POSTGRES_URL at a database where they may create schemas "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, as .ci/run sets it)",
            pytrace=False,
        )
    schema = f"rp_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def analyzer():
    from nlp.analysis.analyzer import Analyzer

    return Analyzer()


@pytest.fixture
def no_sentiment_encoder(analyzer, monkeypatch):
    """Make the analyzer's sentiment classifier fail if called, for paths that must not run it."""

    def fail(*args, **kwargs):
        raise AssertionError("the sentiment classifier ran")

    monkeypatch.setattr(analyzer.sentiment, "predict", fail)
    monkeypatch.setattr(analyzer.sentiment, "predict_spans", fail)


@pytest.fixture(scope="session")
def examples_path() -> Path:
    return EXAMPLES


def models_copy(folder: Path) -> Path:
    """A models folder whose registry is a copy of the committed one, with the committed artifacts linked
    (read only) and a real ``topics`` folder, so a new topics version lands here, not in the checkout."""
    folder.mkdir()
    models = nlp_settings().models_dir
    shutil.copy(models / "registry.json", folder / "registry.json")
    for artifact in models.iterdir():
        if artifact.is_dir() and artifact.name != "topics":
            (folder / artifact.name).symlink_to(artifact)
    (folder / "topics").mkdir()
    for version in (models / "topics").iterdir():
        (folder / "topics" / version.name).symlink_to(version)
    return folder


@pytest.fixture
def nlp_env() -> Iterator[Callable[[str, object], None]]:
    """``nlp_env("REVIEWPULSE_MODELS_DIR", path)`` sets a variable of :class:`nlp.artifacts.paths.NlpSettings`
    for this test only; the settings are read again after each call and after the test."""
    with pytest.MonkeyPatch.context() as patch:

        def setenv(name: str, value: object) -> None:
            patch.setenv(name, str(value))
            nlp_settings.cache_clear()

        yield setenv
    nlp_settings.cache_clear()


def make_client(tmp_path, analyzer, **overrides) -> TestClient:
    settings = Settings(data_dir=tmp_path, **overrides)
    app = create_app(settings, AnalysisService(factory=lambda version, topics: analyzer))
    return TestClient(app, raise_server_exceptions=False)


def make_key(client: TestClient, role: str) -> dict[str, str]:
    with client.app.state.sessionmaker() as session:
        key = store.create_api_key(session, role)
        session.commit()
    return {"X-API-Key": key}


@pytest.fixture
def api(tmp_path, analyzer):
    with make_client(tmp_path, analyzer) as client:
        client.admin = make_key(client, "admin")
        client.reader = make_key(client, "reader")
        yield client


def pytest_configure(config):
    config.addinivalue_line("markers", "rasa: runs a real Rasa server (installs Rasa 3.6 into ~/.cache once)")
    config.addinivalue_line(
        "markers", "datasets(*paths): reads these files or folders of the shared datasets (fails when absent)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    needed = [path for mark in item.iter_markers("datasets") for path in mark.args]
    datasets_dir = nlp_settings().datasets_dir
    missing = [path for path in needed if not (datasets_dir / path).exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found in the shared datasets at {datasets_dir}: set "
            "REVIEWPULSE_DATASETS_DIR to the folder that holds them (../shared/datasets beside this checkout)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``reviewpulse serve`` on loopback over a fresh store, one per test module:
    ``{"base", "headers" (admin key), "env", "data"}``."""
    with api_server(tmp_path_factory.mktemp("server-data")) as live:
        yield live
