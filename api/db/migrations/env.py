"""Alembic environment of the review store.

The database URL comes from ``config.attributes["url"]`` (set by :func:`api.db.migrate.upgrade`), else from
``sqlalchemy.url`` in the ini file, else from the service settings (``REVIEWPULSE_DATABASE_URL`` /
``REVIEWPULSE_DATA_DIR``). Migrations run in one transaction that first takes a lock (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: an advisory lock), so two processes upgrading a fresh database at once take turns.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from api.db.base import Base
from api.db.models import ApiKey, Product, Review, ReviewAspect, ReviewTopic  # noqa: F401 (register tables)
from api.db.session import IMMEDIATE, make_engine

#: Key of the PostgreSQL advisory lock held while migrating ("RPulse" in ASCII).
ADVISORY_LOCK_KEY = 0x52_50_75_6C_73_65

config = context.config
target_metadata = Base.metadata
if config.config_file_name is not None:  # run by the `alembic` command with alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from api.core.config import get_settings

        url = get_settings().db_url
    return str(url)


def run_migrations_offline() -> None:
    """Emit the SQL (``alembic upgrade head --sql``) instead of running it."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{IMMEDIATE: True})
            is_sqlite = connection.dialect.name == "sqlite"
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite,
                compare_type=True,
                transactional_ddl=True,  # SQLite too: with our own BEGIN, its DDL is transactional
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
