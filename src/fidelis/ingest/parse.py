"""SQL for turning staged text into typed values, and for reporting what would not parse.

Parsing happens in DuckDB (vectorised, parallel); this module only writes the expressions. A value
that is present but unparsable becomes NULL in the typed column, which `first_parse_failure`
finds and the pipeline reports with file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from fidelis.ingest.sources.base import Staging, sql_literal

# A timestamp string that carries its own offset: a time part, then Z or +hh[:mm] / -hh[:mm].
_OFFSET_PATTERN = r"\d[T ]\d{1,2}:\d\d.*(Z|[+-]\d\d(:?\d\d)?)$"


def timestamp_expr(column: str, staging: Staging) -> str:
    """SQL turning text into TIMESTAMPTZ; naive values are read in the source's time zone."""
    tz = sql_literal(staging.timezone)
    if staging.date_format:
        fmt = sql_literal(staging.date_format)
        if "%z" in staging.date_format or "%Z" in staging.date_format:
            return f"try_strptime({column}, {fmt})"
        return f"timezone({tz}, try_strptime({column}, {fmt}))"
    # "2023-01-05 10:00:00 -0500" (a space before the offset) reads as a zone name: join it first.
    joined = f"regexp_replace({column}, '\\s+([+-]\\d\\d:?\\d\\d)$', '\\1')"
    return (
        f"CASE WHEN regexp_matches({column}, {sql_literal(_OFFSET_PATTERN)}) "
        f"THEN try_cast({joined} AS TIMESTAMPTZ) "
        f"ELSE timezone({tz}, try_cast({column} AS TIMESTAMP)) END"
    )


def decimal_expr(column: str, staging: Staging, precision: int, scale: int) -> str:
    """SQL turning text into DECIMAL, honouring the source's decimal and thousands separators."""
    text = f"replace({column}, ' ', '')"
    if staging.thousands_separator:
        text = f"replace({text}, {sql_literal(staging.thousands_separator)}, '')"
    if staging.decimal_separator != ".":
        text = f"replace({text}, {sql_literal(staging.decimal_separator)}, '.')"
    return f"try_cast({text} AS DECIMAL({precision},{scale}))"


def integer_expr(column: str, staging: Staging) -> str:
    """Whole-number scores (NPS, CSAT): '9' and '9.0' are 9; '9.5' does not parse."""
    number = decimal_expr(column, staging, 18, 4)
    return f"CASE WHEN {number} = round({number}) THEN CAST({number} AS INTEGER) END"


@dataclass(frozen=True)
class ParseFailure:
    field: str
    row: int
    value: str
    count: int


def first_parse_failure(
    con: duckdb.DuckDBPyConnection, table: str, field: str, parsed_column: str
) -> ParseFailure | None:
    """The first row where `field` has text but `parsed_column` is NULL, with the total count."""
    found = con.execute(
        f"""SELECT min_by(_row, _row), min_by({field}, _row), count(*)
            FROM {table} WHERE {field} IS NOT NULL AND {parsed_column} IS NULL"""
    ).fetchone()
    if found is None or found[2] == 0:
        return None
    return ParseFailure(field=field, row=int(found[0]), value=str(found[1]), count=int(found[2]))
