"""The unit tier loads no models and needs no dataset, database server or served process: the shared
fixtures that do are refused here, so a test that needs one goes to tests/integration or tests/e2e."""

from __future__ import annotations

import pytest


def _refuse(fixture: str, tier: str) -> None:
    pytest.fail(
        f"the unit tier cannot use `{fixture}`: a test that needs it belongs in tests/{tier}", pytrace=False
    )


@pytest.fixture(scope="session")
def analyzer():
    _refuse("analyzer", "integration")


@pytest.fixture
def api():
    _refuse("api", "integration")


@pytest.fixture
def db_url():
    _refuse("db_url", "integration")


@pytest.fixture(scope="module")
def server():
    _refuse("server", "e2e")
