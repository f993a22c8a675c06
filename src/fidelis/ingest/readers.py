"""Read any supported file into a temporary all-text table `raw` with a `_row` column.

Everything is read as text first so that the pipeline, not the reader, decides what a bad value
is, and can name the file, row and column of it. `_row` is the row a person sees in a spreadsheet
(header = row 1) for CSV and XLSX, the line number for JSON lines, and the 1-based record number for
Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from fidelis.errors import EmptyInputError, InputError, Location, SourceNotFoundError

FILE_FORMATS = ("csv", "xlsx", "parquet", "jsonl")
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".gz": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
# Row number of the first data record, per format (see module docstring).
_FIRST_ROW = {"csv": 2, "xlsx": 2, "jsonl": 1, "parquet": 1}


def file_format_of(path: Path) -> str:
    """Guess csv / xlsx / parquet / jsonl from the file name (`.csv.gz` is csv)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-2:-1] and suffixes[-1] in (".gz", ".zst"):
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise InputError(
            f"cannot tell the file type from its name; expected one of {', '.join(sorted(_EXTENSIONS))}",
            Location(path),
        )
    return fmt


def check_readable(path: Path) -> None:
    """Fail early, with the path, for a missing, unreadable or empty file."""
    if not path.exists():
        raise SourceNotFoundError("file not found", Location(path))
    if not path.is_file():
        raise SourceNotFoundError("not a regular file", Location(path))
    if path.stat().st_size == 0:
        raise EmptyInputError("file is empty", Location(path))


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; None means: decide from the file (its name, or DuckDB's sniffer)."""

    file_format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None


def _scan(con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions) -> tuple[str, str, list]:
    """The checked file format and the SQL (with parameters) that scans the file as text."""
    check_readable(path)
    fmt = options.file_format or file_format_of(path)
    if fmt not in FILE_FORMATS:
        raise InputError(f"unknown file format '{fmt}'; use one of {', '.join(FILE_FORMATS)}", Location(path))
    return fmt, *_scan_sql(con, path, fmt, delimiter=options.delimiter, encoding=options.encoding,
                           sheet=options.sheet)


def read_raw(
    con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions = ReadOptions(), *, table: str = "raw"
) -> list[str]:
    """Create TEMP TABLE `table` with every column as VARCHAR plus `_row`; return the header."""
    fmt, relation_sql, params = _scan(con, path, options)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_scan AS {relation_sql}", params)
    except duckdb.Error as exc:
        raise InputError(f"cannot read as {fmt}: {_first_line(exc)}", Location(path)) from exc
    header = [name for name in con.table(f"{table}_scan").columns]
    # A view, not a copy: the scan table's rowid is the record's position in the file.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid + {_FIRST_ROW[fmt]} AS _row, * FROM {table}_scan")
    if con.execute(f"SELECT count(*) FROM {table}_scan").fetchone()[0] == 0:
        raise EmptyInputError("file has a header but no data rows", Location(path))
    return header


def read_header_only(con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions = ReadOptions()) -> list[str]:
    """The column names of a file, read without scanning its rows (layout detection, hashing)."""
    check_readable(path)
    if (options.file_format or file_format_of(path)) == "xlsx":
        import pandas as pd

        try:
            frame = pd.read_excel(path, sheet_name=options.sheet or 0, nrows=0, dtype=str, engine="openpyxl")
            return [str(c) for c in frame.columns]
        except Exception as exc:  # openpyxl raises many types for a corrupt workbook
            raise InputError(f"cannot read as xlsx: {exc}", Location(path)) from exc
    fmt, relation_sql, params = _scan(con, path, options)
    try:
        return [d[0] for d in con.execute(f"SELECT * FROM ({relation_sql}) LIMIT 0", params).description]
    except duckdb.Error as exc:
        raise InputError(f"cannot read as {fmt}: {_first_line(exc)}", Location(path)) from exc


def _scan_sql(con, path: Path, fmt: str, *, delimiter, encoding, sheet) -> tuple[str, list]:
    if fmt == "csv":
        # comment = '': the sniffer otherwise takes '#' for a comment marker and silently drops
        # rows such as Shopify's order names "#1001".
        options = ["header = true", "all_varchar = true", "null_padding = true", "comment = ''"]
        params: list = [str(path)]
        if delimiter:
            options.append("delim = ?")
            params.append(delimiter)
        if encoding:
            options.append("encoding = ?")
            params.append(encoding)
        return f"SELECT * FROM read_csv(?, {', '.join(options)})", params
    if fmt == "parquet":
        return "SELECT * FROM read_parquet(?)", [str(path)]
    if fmt == "jsonl":
        # Every key as text, as for CSV: left to itself the reader would type values, and read an
        # offset timestamp as naive UTC, or an id as a float.
        probe = "SELECT * FROM read_json(?, format = 'newline_delimited', records = true) LIMIT 0"
        try:
            names = [d[0] for d in con.execute(probe, [str(path)]).description]
        except duckdb.Error as exc:
            raise InputError(f"cannot read as jsonl: {_first_line(exc)}", Location(path)) from exc
        columns = "{" + ", ".join("'" + name.replace("'", "''") + "': 'VARCHAR'" for name in names) + "}"
        return (f"SELECT * FROM read_json(?, format = 'newline_delimited', records = true, columns = {columns})",
                [str(path)])
    return _xlsx_scan(con, path, sheet)


def _xlsx_scan(con, path: Path, sheet: str | None) -> tuple[str, list]:
    """XLSX through openpyxl: DuckDB's excel extension would need a download at run time."""
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
    except ValueError as exc:  # pandas raises ValueError for a missing sheet
        raise InputError(str(exc), Location(path)) from exc
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook
        raise InputError(f"cannot read as xlsx: {exc}", Location(path)) from exc
    frame.columns = [str(c) for c in frame.columns]
    con.register("_xlsx_frame", frame)
    return "SELECT * FROM _xlsx_frame", []


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
