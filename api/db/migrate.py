"""Run the store's Alembic migrations from code (no ``alembic.ini`` needed).

Example::

    from api.db.migrate import upgrade
    upgrade("sqlite:///data/reviewpulse.db")   # creates or updates every table; a no-op at head
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from api.db.session import normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic ``Config`` for ``url`` with ``script_location`` at :data:`MIGRATIONS_DIR`."""
    url = normalize_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ini-style interpolation
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` back to ``revision`` (``base`` drops every table)."""
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at (None: not migrated yet)."""
    from alembic.migration import MigrationContext

    from api.db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
