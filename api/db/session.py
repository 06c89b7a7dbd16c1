"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite connections get ``journal_mode=WAL``, ``synchronous=FULL`` (a commit is on disk before it returns,
power loss included), ``foreign_keys=ON`` and a 5-second ``busy_timeout``, and
SQLAlchemy emits ``BEGIN`` itself (pysqlite's own transaction handling breaks SAVEPOINT). Transactions
start as ``BEGIN IMMEDIATE`` by default: a transaction that reads and then writes (look up the product,
then insert the review) would otherwise fail at once with "database is locked" whenever another writer
committed in between (SQLite cannot upgrade a stale read snapshot); taking the write lock up front makes
it wait its turn instead (up to ``busy_timeout``). Units of work that only read call :func:`begin_read`
first to start a deferred transaction: in WAL mode it neither waits for nor blocks a writer (the service
does so for every GET request and every key lookup, so reads go on while a bulk load writes). Writers keep
their transactions short (a bulk load analyses outside any transaction and writes each chunk in its own), so
a writer waits milliseconds, not the whole ``busy_timeout``. PostgreSQL engines ping pooled connections
before use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

#: Connection execution option read by the SQLite ``begin`` hook: True (default) ``BEGIN IMMEDIATE``,
#: False ``BEGIN`` (deferred). See :func:`begin_write` and :func:`begin_read`.
IMMEDIATE = "reviewpulse_sqlite_immediate"


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (no driver) mean psycopg 3, the driver this project ships."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``), set up as described
    in this module; ``kwargs`` go to :func:`sqlalchemy.create_engine`."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend != "sqlite":
        if backend == "postgresql":
            kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    if make_url(url).database in (None, "", ":memory:"):
        kwargs.setdefault("poolclass", StaticPool)  # one shared in-memory database, not one per connection
    else:
        # A file connection costs SQLite almost nothing, and a request can hold two at once (its session and
        # the key lookup): a bounded pool (SQLAlchemy's 5 + 10) ran dry under 20 clients during a bulk load and
        # made reads wait its 30-second timeout, then fail. Beyond 5 kept open, connections open on demand.
        kwargs.setdefault("max_overflow", -1)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory; objects stay usable after ``commit()`` (``expire_on_commit=False``), so a route
    can commit and then serialise what it stored."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start ``session``'s transaction as a write transaction (SQLite: ``BEGIN IMMEDIATE``, the default
    anyway; no-op on other databases or once the session's write transaction has begun). The store's write
    functions call it.

    Raises:
        RuntimeError: the transaction already began as a read (:func:`begin_read`): on SQLite its writes
            could fail with "database is locked" whenever another writer commits first, so this is refused
            every time instead; commit or roll back the read first.
    """
    _begin(session, immediate=True)


def begin_read(session: Session) -> None:
    """Start ``session``'s transaction as a read transaction (SQLite: deferred ``BEGIN``, which does not
    take the write lock, so a long report never makes writers wait). Writing later in the same transaction
    can fail with "database is locked" if another writer committed meanwhile: use it for reads only."""
    _begin(session, immediate=False)


def _begin(session: Session, immediate: bool) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    transaction = session.get_transaction()
    if transaction is not None and bind in getattr(transaction, "_connections", {}):
        # already connected: the transaction has begun, its mode can no longer change
        if immediate and not session.connection().get_execution_options().get(IMMEDIATE, True):
            raise RuntimeError("a write in a read transaction: commit or roll back before begin_write")
        return
    session.connection(execution_options={IMMEDIATE: immediate})
