"""Ledger stores for the suite: a fresh SQLite file, and a fresh PostgreSQL schema (dropped after).

PostgreSQL comes from FIDELIS_TEST_POSTGRES_URL; when it is unreachable the PostgreSQL cases are
skipped locally and fail under CI (CI=true).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest
from sqlalchemy import create_engine, text

from fidelis.loyalty.ledger import Ledger
from fidelis.loyalty.store import open_ledger

POSTGRES_URL = os.environ.get("FIDELIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STORES = ["sqlite", "postgresql"]


@lru_cache(maxsize=1)
def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _require_postgres() -> None:
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable under CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem})")


@contextmanager
def ledger_on(store: str, tmp_dir) -> Iterator[Ledger]:
    """A fresh, migrated ledger on `store`; disposed (and its PostgreSQL schema dropped) after."""
    if store == "sqlite":
        ledger = open_ledger(f"sqlite:///{tmp_dir}/ledger-{uuid.uuid4().hex[:8]}.sqlite")
        try:
            yield ledger
        finally:
            ledger.engine.dispose()
        return
    _require_postgres()
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    ledger = open_ledger(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        yield ledger
    finally:
        ledger.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=STORES)
def store(request) -> str:
    return request.param


@pytest.fixture
def ledger(store: str, tmp_path) -> Iterator[Ledger]:
    with ledger_on(store, tmp_path) as opened:
        yield opened
