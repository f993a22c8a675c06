"""The loyalty programme: its definition (a TOML programme file), earn and tier rules, and the points
ledger, a transactional store separate from the warehouse (SQLite file by default, PostgreSQL by URL).
The ledger rules are in docs/ledger.md."""
