"""Pure domain rules: no IO, no database. Everything here is testable with plain values."""
