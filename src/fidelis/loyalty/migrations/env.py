"""Alembic environment: runs on the connection `open_ledger` passes in `config.attributes`."""

from __future__ import annotations

from alembic import context

from fidelis.loyalty.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, version_table="ledger_alembic_version")
with context.begin_transaction():
    context.run_migrations()
