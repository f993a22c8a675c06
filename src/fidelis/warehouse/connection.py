"""Open, create and migrate a warehouse file; hand out DuckDB and Ibis connections to it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from fidelis.domain.money import validate_currency_code
from fidelis.errors import WarehouseError
from fidelis.warehouse.schema import MIGRATIONS, SCHEMA_VERSION

BUNDLED_FX_ORIGIN = "ecb-monthly-average"


@dataclass
class Warehouse:
    """An open warehouse file and the facts fixed at its creation."""

    path: Path
    con: duckdb.DuckDBPyConnection
    reporting_currency: str

    def close(self) -> None:
        self.con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing: commit when the block ends, roll back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def ibis(self):
        """An Ibis backend over the same DuckDB connection, for analytics expressions."""
        import ibis

        return ibis.duckdb.from_connection(self.con)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_warehouse(
    path: Path | str,
    *,
    reporting_currency: str | None = None,
    create: bool = True,
    read_only: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Warehouse:
    """Open (and if needed create and migrate) the warehouse at `path`.

    The reporting currency is fixed when the file is created; asking for another one later is an
    error rather than a silent mix of currencies.
    """
    path = Path(path)
    existed = path.exists()
    if not existed and (not create or read_only):
        raise WarehouseError(f"warehouse {path} does not exist; run `fidelis ingest` first")
    if not existed:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(str(path), read_only=read_only and existed, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    try:
        if existed and _meta(con, "reporting_currency") is None and _has_tables(con):
            raise WarehouseError(f"{path} is a DuckDB file but not a Fidelis warehouse; choose another --warehouse")
        if not read_only:
            _migrate(con, reporting_currency or "USD")
        stored = _meta(con, "reporting_currency")
    except Exception:
        con.close()
        raise
    if stored is None:
        con.close()
        raise WarehouseError(f"{path} is not a Fidelis warehouse (no schema)")
    if reporting_currency and validate_currency_code(reporting_currency) != stored:
        con.close()
        raise WarehouseError(
            f"warehouse {path} reports in {stored}, not {reporting_currency}; use another --warehouse file"
        )
    return Warehouse(path=path, con=con, reporting_currency=stored)


@contextlib.contextmanager
def warehouse_session(path: Path | str, settings) -> Iterator[Warehouse]:
    """Open (or create) the warehouse for a command that writes to it.

    A new file gets the settings' reporting currency; an existing one keeps its own, and an
    explicitly requested other currency is an error. If the command fails on a warehouse it
    created, the file is removed: it was not there before.
    """
    from fidelis.config import reporting_currency_asked

    path = Path(path)
    created_here = not path.exists()
    asked = settings.reporting_currency if created_here else reporting_currency_asked(settings)
    try:
        warehouse = open_warehouse(path, reporting_currency=asked, threads=settings.duckdb_threads,
                                   memory_limit=settings.duckdb_memory_limit)
        with warehouse:
            yield warehouse
    except BaseException:
        if created_here:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'").fetchone()[0] > 0


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'warehouse_meta'"
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute("SELECT value FROM warehouse_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0] if exists else 0


def _migrate(con: duckdb.DuckDBPyConnection, reporting_currency: str) -> None:
    """Apply pending migrations, each in its own transaction; seed a new file's metadata and rates."""
    version = _current_version(con)
    if version > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse schema version {version} is newer than this Fidelis ({SCHEMA_VERSION}); upgrade Fidelis"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
            )
            for statement in MIGRATIONS[number - 1]:
                con.execute(statement)
            if number == 1:
                _seed_new_warehouse(con, validate_currency_code(reporting_currency))
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [number, datetime.now(UTC)])
        except Exception:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _seed_new_warehouse(con: duckdb.DuckDBPyConnection, reporting_currency: str) -> None:
    con.execute("INSERT INTO warehouse_meta VALUES ('reporting_currency', ?)", [reporting_currency])
    con.execute("INSERT INTO warehouse_meta VALUES ('created_at', ?)", [datetime.now(UTC).isoformat()])
    load_bundled_fx_rates(con, reporting_currency)


def bundled_fx_path() -> Path:
    return Path(str(resources.files("fidelis.ingest").joinpath("data/fx_monthly_ecb.csv")))


def load_bundled_fx_rates(con: duckdb.DuckDBPyConnection, reporting_currency: str) -> int:
    """Cross the bundled per-EUR monthly averages into rates to the reporting currency.

    rate(X -> R) = units_per_eur(R) / units_per_eur(X), with EUR itself at 1. A month where the
    reporting currency has no ECB rate yields no rows for that month (never a guessed rate).
    """
    con.execute(
        f"""
        INSERT INTO fx_rates
        WITH per_eur AS (
            SELECT strptime(month, '%Y-%m')::DATE AS rate_date, currency, units_per_eur::DOUBLE AS units_per_eur
            FROM read_csv(?, header = true, columns = {{'month': 'VARCHAR', 'currency': 'VARCHAR', 'units_per_eur': 'VARCHAR'}})
            UNION ALL
            SELECT DISTINCT strptime(month, '%Y-%m')::DATE, 'EUR', 1.0
            FROM read_csv(?, header = true, columns = {{'month': 'VARCHAR', 'currency': 'VARCHAR', 'units_per_eur': 'VARCHAR'}})
        ),
        reporting AS (SELECT rate_date, units_per_eur FROM per_eur WHERE currency = ?)
        SELECT p.currency, p.rate_date,
               round(r.units_per_eur / p.units_per_eur, 10)::DECIMAL(28,12),
               '{BUNDLED_FX_ORIGIN}'
        FROM per_eur p JOIN reporting r USING (rate_date)
        """,
        [str(bundled_fx_path()), str(bundled_fx_path()), reporting_currency],
    )
    return con.execute("SELECT count(*) FROM fx_rates").fetchone()[0]
