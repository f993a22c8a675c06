"""The demo: a real sample and synthetic cross-border data, loaded into a fresh warehouse.

It is what `make demo` runs on a new machine: it must work offline, with only what the package
ships (the bundled Online Retail slice, the bundled FX table and the synthetic generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import duckdb

from fidelis.config import Settings, get_settings
from fidelis.errors import WarehouseError
from fidelis.ingest.quality import warehouse_quality
from fidelis.ingest.service import LoadReport, ProgressFn, ingest_file
from fidelis.ingest.sources import SourceOptions
from fidelis.synth import generate
from fidelis.warehouse import open_warehouse

SAMPLE_NAME = "online_retail_2010-12_2011-02.csv.gz"
# The synthetic shops take over from the sample (2010-12-01 to 2011-02-28) and run for two years,
# so that the report shows one seller's timeline without a gap. They cannot start earlier: the
# bundled ECB rates have no Israeli shekel before 2011.
SYNTH_START = date(2011, 1, 1)
SYNTH_END = date(2012, 12, 31)


@dataclass
class DemoResult:
    warehouse: Path
    loads: list[LoadReport]
    quality: dict
    synth_dir: Path
    report: Path | None = None


def bundled_sample() -> Path:
    """Path of the bundled Online Retail slice (CC BY 4.0, see data/samples/README.md)."""
    return Path(str(resources.files("fidelis").joinpath(f"data/samples/{SAMPLE_NAME}")))


def _remove_previous_demo(warehouse: Path) -> None:
    """The demo rebuilds its own warehouse, and refuses to delete any other."""
    if warehouse.exists():
        try:
            with duckdb.connect(str(warehouse), read_only=True) as con:
                purpose = con.execute("SELECT value FROM warehouse_meta WHERE key = 'purpose'").fetchone()
        except duckdb.Error:
            purpose = None
        if not purpose or purpose[0] != "demo":
            raise WarehouseError(f"{warehouse} exists and is not a demo warehouse; choose another --out")
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)


def run_demo(
    out_dir: Path, *, customers: int = 2000, seed: int = 7, settings: Settings | None = None,
    progress: ProgressFn | None = None, report: bool = True,
) -> DemoResult:
    """Build `out_dir/warehouse.duckdb` from scratch from the sample and a synthetic data set,
    then (with `report`) compute the analytics and write `out_dir/report/report.html`."""
    settings = settings or get_settings()
    step = progress or (lambda _message: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    warehouse = out_dir / "warehouse.duckdb"
    _remove_previous_demo(warehouse)
    loads = [ingest_file(bundled_sample(), warehouse_path=warehouse, settings=settings, progress=step)]
    with open_warehouse(warehouse) as wh:
        wh.con.execute("INSERT INTO warehouse_meta VALUES ('purpose', 'demo')")
    step(f"generating {customers:,} synthetic customers")
    synth_dir = out_dir / "synth"
    generate(synth_dir, customers=customers, seed=seed, start=SYNTH_START, end=SYNTH_END)
    for data, mapping in (("orders.csv", "orders.mapping.toml"), ("feedback.csv", "feedback.mapping.toml")):
        loads.append(ingest_file(synth_dir / data, warehouse_path=warehouse, settings=settings, progress=step,
                                 options=SourceOptions(mapping_path=synth_dir / mapping)))
    with open_warehouse(warehouse, create=False, read_only=True) as wh:
        quality = warehouse_quality(wh.con)
    result = DemoResult(warehouse=warehouse, loads=loads, quality=quality, synth_dir=synth_dir)
    if report:
        step("computing analytics and writing the report")
        result.report = _write_report(warehouse, out_dir / "report", settings)
    return result


def _write_report(warehouse: Path, out_dir: Path, settings: Settings) -> Path:
    from fidelis.analytics.service import analyse, analytics_context
    from fidelis.models.overview import predictions_for_report
    from fidelis.report import write_report

    with analytics_context(warehouse, settings=settings, writable=True) as context:
        analysis = analyse(context)
    analysis.add_predictions(predictions_for_report(warehouse, as_of=analysis.as_of, summary=analysis.summary,
                                                    settings=settings))
    return write_report(analysis, out_dir).html
