"""Ingest service: the one entry point the CLI, the API and notebooks call to load files.

A load is atomic (one transaction: on any error the warehouse is as it was, and a warehouse file
that the failed load created is removed) and idempotent (a file already loaded with the same
options is recognised by its content hash and adds nothing; orders already present from an
overlapping export are skipped).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from fidelis.config import Settings, get_settings
from fidelis.domain.markets import MarketConfig, load_market_config
from fidelis.errors import InputError, Location, UnknownLayoutError
from fidelis.ingest import feedback_pipeline, pipeline
from fidelis.ingest.identity import apply_identities
from fidelis.ingest.quality import batch_quality
from fidelis.ingest.readers import ReadOptions, check_readable, read_header_only, read_raw
from fidelis.ingest.sources import REGISTRY, Source, SourceOptions, Staging
from fidelis.warehouse import Warehouse, warehouse_session

ProgressFn = Callable[[str], None]
FinishFn = Callable[[duckdb.DuckDBPyConnection, "LoadReport", Path], None]  # records the batch, in the transaction


@dataclass
class LoadReport:
    """What a load did. `status` is 'loaded' or 'already_loaded' (nothing added)."""

    path: str
    status: str
    source_format: str
    source: str
    dataset: str
    batch_id: str | None
    rows_read: int = 0
    rows_staged: int = 0
    lines_by_fate: dict[str, int] = field(default_factory=dict)
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    orders_loaded: int = 0
    feedback_loaded: int = 0
    customers_created: int = 0
    customers_merged: int = 0
    quality: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_paths(
    paths: list[Path],
    *,
    warehouse_path: Path | None = None,
    file_format: str | None = None,
    options: SourceOptions | None = None,
    lenient: bool = False,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> list[LoadReport]:
    """Load several files in order, each in its own transaction; stop at the first failure."""
    settings = settings or get_settings()
    target = Path(warehouse_path or settings.warehouse)
    reports = []
    for path in paths:
        reports.append(ingest_file(path, warehouse_path=target, file_format=file_format, options=options,
                                   lenient=lenient, settings=settings, progress=progress))
    return reports


def ingest_file(
    path: Path,
    *,
    warehouse_path: Path | None = None,
    file_format: str | None = None,
    options: SourceOptions | None = None,
    lenient: bool = False,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> LoadReport:
    """Load one file of orders or feedback into the warehouse."""
    settings = settings or get_settings()
    options = options or SourceOptions()
    path = Path(path)
    target = Path(warehouse_path or settings.warehouse)
    check_readable(path)
    with warehouse_session(target, settings) as warehouse:
        return _ingest_into(warehouse, path, file_format, options, lenient, settings, progress or _silent)


def _silent(_: str) -> None:
    return None


def _ingest_into(
    warehouse: Warehouse, path: Path, file_format: str | None, options: SourceOptions, lenient: bool,
    settings: Settings, progress: ProgressFn,
) -> LoadReport:
    started = time.perf_counter()
    con = warehouse.con
    source, detected_header = _choose_source(con, path, file_format, options)
    read_options = ReadOptions(**source.read_options(options))
    header = detected_header
    if header is None or read_options != ReadOptions():  # detection read it with default options
        header = read_header_only(con, path, read_options)
    staging = source.staging(header, path, options)
    content_hash = file_sha256(path)
    options_hash = _options_hash(source, staging, options, lenient)
    previous = con.execute(
        "SELECT batch_id, rows_read FROM batches WHERE content_sha256 = ? AND options_sha256 = ?",
        [content_hash, options_hash],
    ).fetchone()
    if previous:
        return LoadReport(str(path), "already_loaded", source.name, staging.source_name, staging.dataset,
                          previous[0], rows_read=previous[1], seconds=time.perf_counter() - started)
    progress(f"reading {path.name} as {source.name}")
    read_raw(con, path, read_options)
    rows_read = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    batch_id = _new_batch_id(content_hash)
    markets = load_market_config(settings.markets_file)

    def finish(con: duckdb.DuckDBPyConnection, report: LoadReport, path: Path) -> None:
        report.rows_read = rows_read
        report.seconds = time.perf_counter() - started
        _record_batch(con, report, path, content_hash, options_hash)

    if staging.dataset == "orders":
        return _load_orders(warehouse, source, staging, header, path, batch_id, options, markets, lenient,
                            settings, progress, finish)
    return _load_feedback(warehouse, source, staging, path, batch_id, lenient, progress, finish)


def _choose_source(
    con: duckdb.DuckDBPyConnection, path: Path, file_format: str | None, options: SourceOptions
) -> tuple[Source, list[str] | None]:
    """The layout named by --format, the generic one when a mapping is given, else detect by header.

    Returns the header too when detection had to read it (None otherwise), so it is read once.
    """
    if file_format:
        if file_format not in REGISTRY:
            raise InputError(f"unknown --format '{file_format}'; known: {', '.join(REGISTRY)}", Location(path))
        if options.mapping_path is not None and file_format != "generic":
            raise InputError(f"--mapping is for the generic layout, not --format {file_format}", Location(path))
        return REGISTRY[file_format], None
    if options.mapping_path is not None:
        return REGISTRY["generic"], None
    header = read_header_only(con, path)
    for source in REGISTRY.values():
        if source.detect(header):
            return source, header
    raise UnknownLayoutError(
        f"header matches no known layout ({', '.join(s for s in REGISTRY if s != 'generic')}); "
        f"pass --format, or --mapping FILE for the generic layout. Header: {', '.join(header[:12])}",
        Location(path),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _options_hash(source: Source, staging: Staging, options: SourceOptions, lenient: bool) -> str:
    mapping_text = options.mapping_path.read_text(encoding="utf-8") if options.mapping_path else ""
    described = json.dumps({
        "format": source.name, "source": staging.source_name, "timezone": staging.timezone,
        "currency": staging.default_currency, "mapping": mapping_text, "lenient": lenient,
    }, sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def _new_batch_id(content_hash: str) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{content_hash[:8]}"


def _load_orders(
    warehouse: Warehouse, source: Source, staging: Staging, header: list[str], path: Path, batch_id: str,
    options: SourceOptions, markets: MarketConfig, lenient: bool, settings: Settings, progress: ProgressFn,
    finish: FinishFn,
) -> LoadReport:
    """Prepare everything in temporary tables, then write it all in one transaction.

    Only the writes are in the transaction: DuckDB is several times slower on temporary tables
    created inside one, and until the writes the warehouse itself is untouched anyway.
    """
    con = warehouse.con
    name = staging.source_name
    pipeline.require_fields(staging, path)
    extra = getattr(source, "extra_rows_sql", None)
    progress("parsing and validating")
    staged = pipeline.stage(con, staging, extra(header, options) if extra else None, name)
    if not lenient:
        pipeline.check_strict(con, staging, path)
    progress("converting currencies")
    pipeline.convert_currency(con, staging, path, reporting_currency=warehouse.reporting_currency,
                              max_age_days=settings.fx_max_age_days, lenient=lenient)
    pipeline.build_batch_orders(con, name)
    pipeline.release_raw(con)
    progress("resolving customers")
    plan = pipeline.plan_customers(con)
    pipeline.register_countries(con, markets)
    pipeline.prepare_orders(con)
    progress("writing")
    with warehouse.transaction():
        identity = apply_identities(con, plan, batch_id=batch_id)
        orders_loaded = pipeline.insert_orders(con, source=name, batch_id=batch_id, timezone=staging.timezone)
        pipeline.insert_lines(con, batch_id=batch_id)
        pipeline.link_returns(con, source=name)
        pipeline.upsert_customers(con, batch_id=batch_id, markets=markets, merged_into=identity.survivors)
        feedback_pipeline.relink(con, namespaced=True)
        feedback_pipeline.relink(con, namespaced=False)
        quarantined = pipeline.quarantine_rows(con, batch_id=batch_id)
        report = LoadReport(
            str(path), "loaded", source.name, name, "orders", batch_id,
            rows_staged=staged, lines_by_fate=pipeline.fates(con), quarantine_by_reason=quarantined,
            orders_loaded=orders_loaded, customers_created=identity.customers_created,
            customers_merged=identity.customers_merged, quality=batch_quality(con, staging, batch_id),
        )
        finish(con, report, path)
    return report


def _load_feedback(
    warehouse: Warehouse, source: Source, staging: Staging, path: Path, batch_id: str, lenient: bool,
    progress: ProgressFn, finish: FinishFn,
) -> LoadReport:
    con = warehouse.con
    progress("parsing feedback")
    staged = feedback_pipeline.stage(con, staging)
    feedback_pipeline.parse(con, staging, path, lenient=lenient)
    with warehouse.transaction():
        loaded, skipped = feedback_pipeline.insert_feedback(con, staging, batch_id)
        quarantined = feedback_pipeline.quarantine_rows(con, batch_id)
        report = LoadReport(
            str(path), "loaded", source.name, staging.source_name, "feedback", batch_id,
            rows_staged=staged,
            lines_by_fate={"loaded": loaded, "quarantined": sum(quarantined.values()), "skipped_existing": skipped},
            quarantine_by_reason=quarantined, feedback_loaded=loaded,
            quality=feedback_pipeline.batch_quality(con, batch_id),
        )
        finish(con, report, path)
    return report


def _record_batch(con: duckdb.DuckDBPyConnection, report: LoadReport, path: Path, content_hash: str,
                  options_hash: str) -> None:
    fates = report.lines_by_fate
    loaded = sum(v for k, v in fates.items() if k not in ("quarantined", "skipped_existing"))
    con.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [report.batch_id, report.dataset, report.source, report.source_format, str(path), content_hash,
         options_hash, datetime.now(UTC), report.rows_read, loaded, fates.get("quarantined", 0),
         fates.get("skipped_existing", 0), json.dumps(report.to_dict(), default=str)],
    )
