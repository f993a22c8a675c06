"""Alembic migrations of the points ledger store, run programmatically by `open_ledger`."""
