"""Ingest benchmark: Fidelis against a hand-written DuckDB `read_csv` + `INSERT` of the same file.

Each measured run is a fresh child process writing a fresh warehouse file, so that peak memory
(the child's own max RSS) and time are per run; the figure reported is the median over runs.
Both sides are timed around the load itself (interpreter start and imports excluded) and run in
the same invocation, on the same file, one after the other.

    .venv/bin/python bench/ingest_bench.py                       # Online Retail + 10M synthetic lines
    .venv/bin/python bench/ingest_bench.py --skip-synthetic      # Online Retail only

Writes docs/benchmarks.md (the ingest section) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FIDELIS_SHARED_DATA", ROOT.parent / "shared" / "data"))
ONLINE_RETAIL = SHARED / "online_retail_2010-12_2011-08.csv.gz"
DOC = ROOT / "docs" / "benchmarks.md"

# The peer: what a data engineer would write by hand to get the same file into DuckDB, typed.
PEER_SCRIPTS = {
    "online_retail": """
        con.execute('''CREATE TABLE lines (invoice VARCHAR, sku VARCHAR, description VARCHAR, quantity INTEGER,
                       invoice_date TIMESTAMP, unit_price DECIMAL(18,6), customer_id DOUBLE, country VARCHAR)''')
        con.execute("INSERT INTO lines SELECT * FROM read_csv(?, header = true)", [path])
    """,
    "synthetic": """
        con.execute('''CREATE TABLE lines (order_id VARCHAR, order_date TIMESTAMP, order_type VARCHAR,
                       refund_of VARCHAR, customer_id VARCHAR, email VARCHAR, phone VARCHAR, customer_name VARCHAR,
                       country VARCHAR, currency VARCHAR, sku VARCHAR, product VARCHAR, category VARCHAR,
                       quantity DECIMAL(18,4), unit_price DECIMAL(18,6), line_amount DECIMAL(18,4), channel VARCHAR)''')
        con.execute("INSERT INTO lines SELECT * FROM read_csv(?, header = true)", [path])
    """,
}

CHILD_TEMPLATE = """
import json, resource, sys, time
from pathlib import Path
path, warehouse, mapping = sys.argv[1], sys.argv[2], sys.argv[3] or None
{imports}
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "extra": extra}}))
"""

FIDELIS_BODY = """
report = ingest_file(Path(path), warehouse_path=Path(warehouse), settings=Settings(reporting_currency="GBP"),
                     options=SourceOptions(mapping_path=Path(mapping) if mapping else None))
extra = {"lines_loaded": sum(v for k, v in report.lines_by_fate.items() if k not in ("quarantined", "skipped_existing")),
         "quarantined": report.lines_by_fate["quarantined"], "rows_read": report.rows_read}
"""
FIDELIS_IMPORTS = """
from fidelis.config import Settings
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions
"""


@dataclass
class Measure:
    seconds: list[float]
    peak_rss_mb: list[float]
    extra: dict

    @classmethod
    def of(cls, runs: list[dict]) -> Measure:
        return cls([r["seconds"] for r in runs], [r["peak_rss_mb"] for r in runs], runs[-1]["extra"])

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss(self) -> float:
        return statistics.median(self.peak_rss_mb)


def run_child(code: str, path: Path, mapping: Path | None, workdir: Path) -> dict:
    warehouse = workdir / f"run-{time.monotonic_ns()}.duckdb"
    out = subprocess.run([sys.executable, "-c", code, str(path), str(warehouse), str(mapping or "")],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr}")
    for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(name: str, path: Path, mapping: Path | None, runs: int, workdir: Path) -> dict:
    fidelis_code = CHILD_TEMPLATE.format(imports=FIDELIS_IMPORTS, body=FIDELIS_BODY)
    peer_body = ("import duckdb\ncon = duckdb.connect(warehouse)\n" + textwrap.dedent(PEER_SCRIPTS[name])
                 + "extra = {'rows': con.execute('SELECT count(*) FROM lines').fetchone()[0]}\ncon.close()\n")
    peer_code = CHILD_TEMPLATE.format(imports="", body=peer_body)
    # Interleave so that drift in machine load hits both sides alike.
    fidelis_runs, peer_runs = [], []
    for _ in range(runs):
        fidelis_runs.append(run_child(fidelis_code, path, mapping, workdir))
        peer_runs.append(run_child(peer_code, path, mapping, workdir))
    return {"name": name, "path": path, "runs": runs, "fidelis": Measure.of(fidelis_runs), "peer": Measure.of(peer_runs),
            "size_mb": path.stat().st_size / 1e6}


def synthetic_file(customers: int, workdir: Path) -> tuple[Path, Path]:
    from fidelis.synth import generate

    out = workdir / "synth"
    started = time.perf_counter()
    generate(out, customers=customers, seed=11)
    print(f"generated {customers:,} synthetic customers in {time.perf_counter() - started:.1f} s", flush=True)
    return out / "orders.csv", out / "orders.mapping.toml"


def render(results: list[dict]) -> str:
    lines = [
        "## Ingest",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"`bench/ingest_bench.py`. Each figure is the median of the runs shown; each run is a fresh process "
        "and a fresh warehouse file; peak memory is that process's max RSS. The peer is a hand-written DuckDB "
        "`CREATE TABLE` + `INSERT ... SELECT * FROM read_csv(...)` of the same file into a new DuckDB file, run "
        "in the same invocation, interleaved with Fidelis' runs. Fidelis does more: it parses and validates every "
        "value, converts currencies, resolves customers, writes orders, lines, customers and quarantine, and "
        "records the batch.",
        "",
        "| data | lines | file MB | runs | Fidelis s (median) | peer s (median) | ratio | Fidelis peak MB | peer peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        fidelis, peer = r["fidelis"], r["peer"]
        rows = fidelis.extra.get("rows_read", peer.extra.get("rows"))
        lines.append(
            f"| {r['name']} | {rows:,} | {r['size_mb']:.1f} | {r['runs']} | {fidelis.median_seconds:.2f} "
            f"| {peer.median_seconds:.2f} | {fidelis.median_seconds / peer.median_seconds:.2f}x "
            f"| {fidelis.median_rss:.0f} | {peer.median_rss:.0f} |"
        )
    lines += ["", "All runs (seconds):", ""]
    for r in results:
        lines.append(f"- {r['name']}: Fidelis {', '.join(f'{s:.2f}' for s in r['fidelis'].seconds)}; "
                     f"peer {', '.join(f'{s:.2f}' for s in r['peer'].seconds)}")
    return "\n".join(lines) + "\n"


NOTES_HEADING = "\n## Notes"


def write_doc(section: str) -> None:
    """Rewrite the measured section; keep the hand-written notes that follow it."""
    header = "# Benchmarks\n\nFigures measured on this project's reference machine; rerun with `make bench`.\n\n"
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    notes = old[old.index(NOTES_HEADING):] if NOTES_HEADING in old else ""
    DOC.write_text(header + section + notes, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per side for the Online Retail file")
    parser.add_argument("--synthetic-runs", type=int, default=3, help="runs per side for the synthetic file")
    parser.add_argument("--synthetic-customers", type=int, default=1_000_000,
                        help="synthetic customers (about 10 order lines each)")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="fidelis-bench-") as tmp:
        workdir = Path(tmp)
        results.append(compare("online_retail", ONLINE_RETAIL, None, args.runs, workdir))
        print(render(results), flush=True)
        if not args.skip_synthetic:
            orders, mapping = synthetic_file(args.synthetic_customers, workdir)
            results.append(compare("synthetic", orders, mapping, args.synthetic_runs, workdir))
    section = render(results)
    print(section)
    write_doc(section)


if __name__ == "__main__":
    main()
