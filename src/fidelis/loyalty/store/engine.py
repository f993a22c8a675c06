"""Open (create, migrate) the ledger store: a SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from fidelis.loyalty.store.errors import LedgerStoreError

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_ledger_engine(url: str) -> Engine:
    """An engine for the ledger. On SQLite every transaction starts with `BEGIN IMMEDIATE` (one writer
    at a time, waiting up to 30 s for the lock), WAL journal, foreign keys on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _begin_immediate(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _begin_immediate(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the latest revision (creates it on an empty database)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise LedgerStoreError(f"cannot migrate the ledger store {engine.url!r}: {exc}") from exc


def open_ledger(url: str | None = None):
    """The `Ledger` on the store at `url` (default: setting `FIDELIS_LEDGER_URL`), created and migrated."""
    from fidelis.loyalty.ledger import Ledger

    if url is None:
        from fidelis.config import get_settings

        url = get_settings().ledger_url
    engine = create_ledger_engine(url)
    migrate(engine)
    return Ledger(engine)
