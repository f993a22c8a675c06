"""Customer summary benchmark: Fidelis against `lifetimes` and a hand-written DuckDB query, same data.

The data is `fidelis synth --customers N --seed S` (Parquet), loaded with `fidelis ingest` into a
warehouse that is kept under bench/.work/ (keyed by customers and seed) so that re-runs skip the
load. On it, in one invocation, interleaved:

- Fidelis: open the warehouse, `inputs_from_backend` (default options), then the `customer_history`
  expression into pandas the library's way, `exact_frame(...)` (money as Arrow decimals) where it
  exists: frequency, recency, T (exact and by calendar day), sales, refunds and net value per
  customer. Also, on its own line, the same through Ibis' `.to_pandas()`;
- hand-written: one DuckDB SQL query computing the same columns from `orders` (and the customers'
  market), `duckdb.connect(...)` plus `.df()`;
- lifetimes: `lifetimes.utils.summary_data_from_transaction_data(freq="D")` on a pandas frame of the
  purchases (customer_id, UTC-naive ordered_at, amount_reporting as float). Its time EXCLUDES
  loading that frame from the warehouse, which is reported on its own line;
- Fidelis' full `customer_summary` (RFM scores, segments, tiers, stages) into pandas the same way,
  and `materialise_summary` (the stored table plus k-means clusters, what `fidelis segments` does)
  on a scratch copy of the warehouse;
- `fidelis analyze` of the Online Retail sample (ingest, every analytics table, the HTML report),
  pinned to two cores, timed as a whole command; plus one in-process run timing its main steps.

A separate run then times Fidelis' steps one by one (compile, execution, conversion). Raw figures
go to bench/.work/summary-bench-results-c<customers>-s<seed>.json.

Each run is a fresh child process; times exclude interpreter start and imports (except `fidelis
analyze`, timed as a whole command); peak memory is the child's max RSS. Figures are medians.
The first run of each contender also writes its result, and the parent checks that the three agree:
lifetimes' frequency/recency/T against Fidelis' `*_by_day` columns for every customer, the
hand-written query against every Fidelis column.

    .venv/bin/python bench/summary_bench.py                    # 1M customers, seed 1
    .venv/bin/python bench/summary_bench.py --customers 20000 --runs 2 --lifetimes-runs 1 --no-write

Writes docs/benchmarks.md (the customer summary section, between its markers) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from benchdoc import proc_field, write_section  # bench/ is on sys.path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
SHARED = Path(os.environ.get("FIDELIS_SHARED_DATA", ROOT.parent / "shared" / "data"))
ONLINE_RETAIL = SHARED / "online_retail_2010-12_2011-08.csv.gz"
DOC = ROOT / "docs" / "benchmarks.md"
FIDELIS = ROOT / ".venv" / "bin" / "fidelis"
START_MARKER = "<!-- summary-bench:start -->"
END_MARKER = "<!-- summary-bench:end -->"

AIM_VS_LIFETIMES = 4.0  # Fidelis at least this many times faster than lifetimes
AIM_VS_HAND = 1.3  # Fidelis within this factor of the hand-written query
AIM_ANALYZE_SECONDS = 10.0

# What a data engineer would write by hand for the same per-customer columns, with the same rules
# (docs/metrics.md): purchases are sales of known customers before the as-of instant, minus voided
# sales; refunds are returns and cancellations except those of voided sales; the as-of instant is
# midnight (UTC) after the latest order's day; "by day" columns count UTC calendar days.
HAND_SQL = """
WITH bounds AS (
    SELECT floor(max(epoch(ordered_at)) / 86400)::BIGINT + 1 AS as_of_day FROM orders
),
known AS (
    SELECT order_id, order_kind, original_order_id, customer_id, ordered_at, amount, amount_reporting,
           floor(epoch(ordered_at) / 86400)::BIGINT AS day
    FROM orders
    WHERE customer_id IS NOT NULL AND epoch(ordered_at) < (SELECT as_of_day FROM bounds) * 86400
),
voided AS (
    SELECT s.order_id
    FROM known s
    JOIN (SELECT original_order_id, sum(amount) AS cancelled FROM known
          WHERE order_kind = 'cancellation' AND original_order_id IS NOT NULL GROUP BY ALL) c
      ON c.original_order_id = s.order_id
    WHERE s.order_kind = 'sale' AND s.amount + c.cancelled <= 0
),
bought AS (
    SELECT customer_id, min(ordered_at) AS first_at, max(ordered_at) AS last_at, count(*) AS purchases,
           count(DISTINCT day) AS purchase_days, min(day) AS first_day, max(day) AS last_day,
           sum(amount_reporting) AS sales_value,
           first(amount_reporting ORDER BY ordered_at, order_id) AS first_amount
    FROM known k ANTI JOIN voided v ON k.order_id = v.order_id
    WHERE k.order_kind = 'sale'
    GROUP BY customer_id
),
refunded AS (
    SELECT customer_id, count(*) AS refunds, -sum(amount_reporting) AS refunds_value
    FROM known k ANTI JOIN voided v ON k.original_order_id = v.order_id
    WHERE k.order_kind IN ('return', 'cancellation')
    GROUP BY customer_id
),
per_customer AS (
    SELECT b.*, coalesce(r.refunds, 0) AS refunds, coalesce(r.refunds_value, 0) AS refunds_value,
           b.sales_value - coalesce(r.refunds_value, 0) AS net_value
    FROM bought b LEFT JOIN refunded r USING (customer_id)
)
SELECT p.customer_id, coalesce(c.market, 'Unknown') AS market, c.country_code,
       p.first_at AS first_purchase_at, p.last_at AS last_purchase_at, p.purchases,
       p.purchases - 1 AS frequency,
       (epoch(p.last_at) - epoch(p.first_at)) / 86400 AS recency_days,
       (bounds.as_of_day * 86400 - epoch(p.first_at)) / 86400 AS tenure_days,
       (bounds.as_of_day * 86400 - epoch(p.last_at)) / 86400 AS days_since_last,
       p.purchase_days - 1 AS frequency_by_day,
       p.last_day - p.first_day AS recency_by_day,
       bounds.as_of_day - 1 - p.first_day AS tenure_by_day,
       p.sales_value, p.refunds, p.refunds_value, p.net_value,
       p.net_value::DOUBLE / p.purchases AS monetary_mean,
       CASE WHEN p.purchases > 1 THEN (p.sales_value - p.first_amount)::DOUBLE / (p.purchases - 1) END
           AS monetary_repeat_mean
FROM per_customer p
CROSS JOIN bounds
LEFT JOIN customers c USING (customer_id)
"""

# lifetimes' input: the purchases as this comparison defines them (sales of known
# customers; the bench reports whether any are voided) and the last day before the as-of instant.
LIFETIMES_FRAME_SQL = """
SELECT customer_id, timezone('UTC', ordered_at) AS ordered_at, amount_reporting::DOUBLE AS amount_reporting
FROM orders WHERE order_kind = 'sale' AND customer_id IS NOT NULL
"""
LIFETIMES_END_SQL = "SELECT max(timezone('UTC', ordered_at))::DATE FROM orders"

# The columns compared between Fidelis and the hand-written query.
INT_COLUMNS = ["purchases", "frequency", "frequency_by_day", "recency_by_day", "tenure_by_day", "refunds"]
FLOAT_COLUMNS = ["recency_days", "tenure_days", "days_since_last", "sales_value", "refunds_value", "net_value",
                 "monetary_mean", "monetary_repeat_mean"]
TEXT_COLUMNS = ["market", "country_code"]


# ------------------------------------------------------------------------------------------ children
# Each contender runs in a fresh process: `summary_bench.py --child NAME WAREHOUSE DUMP`. It prints
# one JSON line: seconds, peak_rss_mb, extra. Imports happen before the clock starts.

def _frame_for_dump(df):
    import pandas as pd

    out = df.reset_index() if "customer_id" not in df.columns else df
    wanted = dict.fromkeys(["customer_id", *INT_COLUMNS, *FLOAT_COLUMNS, *TEXT_COLUMNS,
                            "recency", "T", "monetary_value"])
    out = out[[c for c in wanted if c in out.columns]].copy()
    for column in out.columns:
        if column in TEXT_COLUMNS:
            out[column] = out[column].astype(object)
        elif not pd.api.types.is_numeric_dtype(out[column].dtype) or isinstance(out[column].dtype, pd.ArrowDtype):
            out[column] = out[column].astype("float64")  # Decimal objects or Arrow decimals
    return out


def _preload() -> None:
    """Import what the Fidelis side loads lazily (Ibis' DuckDB backend, sqlglot), before the clock starts."""
    import ibis
    import ibis.backends.duckdb
    import pyarrow  # noqa: F401

    import fidelis.analytics
    import fidelis.warehouse  # noqa: F401

    ibis.duckdb  # noqa: B018 - resolves the backend entry point


def _open_inputs(warehouse: str):
    """The warehouse and its analytics inputs, as a caller of the library gets them (default options)."""
    import ibis

    from fidelis.analytics import inputs_from_backend
    from fidelis.warehouse import open_warehouse

    wh = open_warehouse(Path(warehouse), create=False, read_only=True)
    inputs = inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency=wh.reporting_currency)
    return wh, inputs


def _frame_function():
    """Fidelis' own way from an expression to pandas: `exact_frame` where it exists, else `.to_pandas()`."""
    try:
        from fidelis.analytics import exact_frame
    except ImportError:
        return "to_pandas", lambda expr: expr.to_pandas()
    return "exact_frame", exact_frame


def child_fidelis(warehouse: str) -> tuple[float, dict, object]:
    from fidelis.analytics.summary import customer_history

    path, frame = _frame_function()
    _preload()
    started = time.perf_counter()
    _wh, inputs = _open_inputs(warehouse)
    opened = time.perf_counter()
    df = frame(customer_history(inputs))
    done = time.perf_counter()
    return done - started, {"setup_seconds": opened - started, "history_seconds": done - opened, "rows": len(df),
                            "path": path, "prepared": bool(getattr(inputs, "prepared", None))}, df


def child_fidelis_to_pandas(warehouse: str) -> tuple[float, dict, object]:
    """`customer_history(inputs).to_pandas()`: Ibis' own conversion (money as Python Decimal objects).

    Ibis' `PandasData.convert_table` (run twice per result) is wrapped in a timer to report its share.
    """
    from ibis.formats.pandas import PandasData

    from fidelis.analytics.summary import customer_history

    original = PandasData.convert_table.__func__
    converting: list[float] = []

    def timed_convert_table(cls, df, schema):
        began = time.perf_counter()
        try:
            return original(cls, df, schema)
        finally:
            converting.append(time.perf_counter() - began)

    PandasData.convert_table = classmethod(timed_convert_table)
    _preload()
    started = time.perf_counter()
    _wh, inputs = _open_inputs(warehouse)
    df = customer_history(inputs).to_pandas()
    seconds = time.perf_counter() - started
    decimals = sum(1 for column in df.columns if df[column].dtype == object
                   and type(df[column].dropna().iloc[0]).__name__ == "Decimal")
    return seconds, {"ibis_conversion_seconds": sum(converting), "decimal_columns": decimals, "rows": len(df)}, None


def child_fidelis_summary(warehouse: str) -> tuple[float, dict, object]:
    from fidelis.analytics import customer_summary, load_analytics_config

    path, frame = _frame_function()
    config = load_analytics_config()
    _preload()
    started = time.perf_counter()
    _wh, inputs = _open_inputs(warehouse)
    df = frame(customer_summary(inputs, config))
    return time.perf_counter() - started, {"rows": len(df), "path": path}, None


def child_fidelis_materialise(warehouse: str) -> tuple[float, dict, object]:
    import inspect

    from fidelis.analytics.service import analytics_context, materialise_summary
    from fidelis.config import Settings

    # as `fidelis segments` does it: without prepared inputs where the option exists
    options = {"prepare": False} if "prepare" in inspect.signature(analytics_context).parameters else {}
    _preload()
    started = time.perf_counter()
    with analytics_context(Path(warehouse), settings=Settings(), writable=True, **options) as context:
        result = materialise_summary(context)
    seconds = time.perf_counter() - started
    # (summary, profiles) in earlier versions; an object holding the stored table in later ones
    table = result[0] if isinstance(result, tuple) else getattr(result, "table", result)
    return seconds, {"rows": len(table)}, None


def child_hand(warehouse: str) -> tuple[float, dict, object]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(warehouse, read_only=True)
    df = con.execute(HAND_SQL).df()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, {"rows": len(df)}, df


def child_lifetimes(warehouse: str) -> tuple[float, dict, object]:
    import duckdb
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    started = time.perf_counter()
    con = duckdb.connect(warehouse, read_only=True)
    end_day = pd.Timestamp(con.execute(LIFETIMES_END_SQL).fetchone()[0])
    frame = con.execute(LIFETIMES_FRAME_SQL).df()
    con.close()
    loaded = time.perf_counter()
    summary = summary_data_from_transaction_data(frame, "customer_id", "ordered_at", monetary_value_col="amount_reporting",
                                                 observation_period_end=end_day, freq="D")
    done = time.perf_counter()
    return done - loaded, {"load_seconds": loaded - started, "transactions": len(frame), "rows": len(summary),
                           "observation_period_end": str(end_day.date())}, summary


def child_profile(warehouse: str) -> tuple[float, dict, object]:
    """Where Fidelis' time goes: one run, each step timed on its own."""
    import inspect

    import ibis

    from fidelis.analytics import inputs as inputs_module
    from fidelis.analytics.summary import customer_history
    from fidelis.warehouse import open_warehouse

    path, frame = _frame_function()
    _preload()
    steps: dict = {"path": path}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    wh = open_warehouse(Path(warehouse), create=False, read_only=True)
    backend = ibis.duckdb.from_connection(wh.con)
    lap("open_warehouse")
    inputs = inputs_module.inputs_from_backend(backend, reporting_currency=wh.reporting_currency)
    lap("inputs_from_backend")
    steps["prepared"] = bool(getattr(inputs, "prepared", None))
    expr = customer_history(inputs)
    sql = str(ibis.to_sql(expr, dialect="duckdb"))
    lap("ibis_compile")
    arrow = expr.to_pyarrow()
    lap("execute_to_arrow")
    if path == "exact_frame":
        frame(arrow)
        lap("arrow_to_pandas")
    wh.con.sql(sql).df()
    lap("duckdb_df_same_sql")
    can_prepare = "prepare" in inspect.signature(inputs_module.inputs_from_backend).parameters
    if can_prepare and not steps["prepared"] and hasattr(inputs_module, "prepared"):
        prepared = inputs_module.prepared(inputs)
        lap("prepare_temp_tables")
        customer_history(prepared).to_pyarrow()
        lap("prepared_history_to_arrow")
    steps["rows"] = arrow.num_rows
    return 0.0, steps, None


CHILDREN = {
    "fidelis": child_fidelis, "fidelis_to_pandas": child_fidelis_to_pandas, "fidelis_summary": child_fidelis_summary,
    "fidelis_materialise": child_fidelis_materialise, "hand": child_hand, "lifetimes": child_lifetimes,
    "profile": child_profile,
}


def child_main(name: str, warehouse: str, dump: str) -> None:
    import resource

    warnings.simplefilter("ignore")
    seconds, extra, frame = CHILDREN[name](warehouse)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if dump and frame is not None:
        _frame_for_dump(frame).to_parquet(dump)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "extra": extra}, default=str))


# ------------------------------------------------------------------------------------------ parent

def run_child(name: str, warehouse: Path, dump: Path | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, str(warehouse), str(dump or "")],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-6:])
        print(f"  {name}: failed\n{tail}", flush=True)
        return {"failed": tail}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {name}: {result['seconds']:.2f} s, {result['peak_rss_mb']:.0f} MB {result['extra']}", flush=True)
    return result


def has_exact_frame() -> bool:
    """Whether Fidelis has its own Arrow-decimal frame function (else `.to_pandas()` is the headline)."""
    out = subprocess.run([sys.executable, "-c", "from fidelis.analytics import exact_frame"], capture_output=True,
                         check=False, cwd=ROOT)
    return out.returncode == 0


def analyze_available() -> bool:
    if not FIDELIS.exists():
        return False
    out = subprocess.run([str(FIDELIS), "analyze", "--help"], capture_output=True, text=True, check=False, cwd=ROOT)
    return out.returncode == 0




ANALYZE_SPLIT = """
import functools, json, os, sys, time
os.environ["FIDELIS_REPORTING_CURRENCY"] = "GBP"
os.environ["FIDELIS_DUCKDB_THREADS"] = "2"
started = time.perf_counter()
import fidelis.cli.app as app
import fidelis.analytics.service as service
import fidelis.ingest.service as ingest
import fidelis.report as report
imported = time.perf_counter()
steps = {}
def timed(module, name):
    function = getattr(module, name)
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - began
    setattr(module, name, wrapper)
for module, name in ((ingest, "ingest_paths"), (service, "materialise_summary"), (report, "write_report")):
    if hasattr(module, name):
        timed(module, name)
sys.argv = ["fidelis", "analyze", sys.argv[1], "--out", sys.argv[2], "--json"]
try:
    app.main()
except SystemExit:
    pass
done = time.perf_counter()
print(json.dumps({"imports_at_start": imported - started, "command": done - imported, **steps}))
"""


def run_analyze_split(workdir: Path) -> dict:
    """One `fidelis analyze` run in-process with its main steps timed (imports, ingest, summary, report)."""
    out_dir = Path(tempfile.mkdtemp(prefix="analyze-split-", dir=workdir))
    out = subprocess.run([sys.executable, "-c", ANALYZE_SPLIT, str(ONLINE_RETAIL), str(out_dir / "report")],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {}


def run_analyze(workdir: Path) -> dict:
    """`fidelis analyze` of the Online Retail file into a fresh folder, timed as a whole command."""
    out_dir = Path(tempfile.mkdtemp(prefix="analyze-", dir=workdir))
    env = {**os.environ, "FIDELIS_REPORTING_CURRENCY": "GBP", "FIDELIS_DUCKDB_THREADS": "2"}
    command = [str(FIDELIS), "analyze", str(ONLINE_RETAIL), "--out", str(out_dir / "report"), "--json"]
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        command = ["taskset", "-c", "0,1", *command]  # taskset execs the command: same process
    with open(out_dir / "stdout", "wb") as stdout, open(out_dir / "stderr", "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, not the cumulative one
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = (out_dir / "stderr").read_text(errors="replace").strip().splitlines()[-6:]
    shutil.rmtree(out_dir, ignore_errors=True)
    if process.returncode != 0:
        print("  analyze: failed\n" + "\n".join(error), flush=True)
        return {"failed": "\n".join(error)}
    result = {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "extra": {}}
    print(f"  analyze: {seconds:.2f} s, {result['peak_rss_mb']:.0f} MB", flush=True)
    return result


def ensure_warehouse(customers: int, seed: int, rebuild: bool) -> tuple[Path, dict]:
    """The synthetic warehouse for (customers, seed), built once and kept under bench/.work/."""
    key = f"c{customers}-s{seed}"
    warehouse = WORK / f"warehouse-{key}.duckdb"
    info_path = WORK / f"warehouse-{key}.json"
    if warehouse.exists() and not rebuild:
        return warehouse, json.loads(info_path.read_text()) if info_path.exists() else {}
    WORK.mkdir(parents=True, exist_ok=True)
    synth = WORK / f"synth-{key}"
    env = {**os.environ, "FIDELIS_REPORTING_CURRENCY": "USD"}
    started = time.perf_counter()
    if rebuild or not (synth / "orders.parquet").exists():
        subprocess.run([str(FIDELIS), "synth", "--customers", str(customers), "--seed", str(seed), "--out", str(synth),
                        "--format", "parquet", "--json"], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    generated = time.perf_counter()
    print(f"generated {customers:,} customers in {generated - started:.0f} s; loading them", flush=True)
    partial = WORK / f"warehouse-{key}.partial.duckdb"
    for stale in (partial, partial.with_name(partial.name + ".wal")):
        stale.unlink(missing_ok=True)
    subprocess.run([str(FIDELIS), "ingest", str(synth / "orders.parquet"), "--mapping", str(synth / "orders.mapping.toml"),
                    "--warehouse", str(partial), "--json"], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    partial.rename(warehouse)
    info = {"synth_seconds": round(generated - started, 1), "ingest_seconds": round(time.perf_counter() - generated, 1),
            "built": time.strftime("%Y-%m-%d %H:%M")}
    info_path.write_text(json.dumps(info))
    return warehouse, info


def data_facts(warehouse: Path) -> dict:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]
        voided = con.execute("""
            SELECT s.order_id, s.customer_id FROM orders s
            JOIN (SELECT original_order_id, sum(amount) AS cancelled FROM orders
                  WHERE order_kind = 'cancellation' AND original_order_id IS NOT NULL GROUP BY ALL) c
              ON c.original_order_id = s.order_id
            WHERE s.order_kind = 'sale' AND s.customer_id IS NOT NULL AND s.amount + c.cancelled <= 0""").df()
        sales = "FROM orders WHERE order_kind = 'sale' AND customer_id IS NOT NULL"
        return {
            "customers": one("SELECT count(*) FROM customers"),
            "order_rows": one("SELECT count(*) FROM orders"),
            "order_lines": one("SELECT count(*) FROM order_lines"),
            "buyers": one(f"SELECT count(DISTINCT customer_id) {sales}"),
            "purchases": one(f"SELECT count(*) {sales}"),
            "purchase_days": one(f"SELECT count(*) FROM (SELECT DISTINCT customer_id, ordered_at::DATE {sales})"),
            "refund_documents": one("SELECT count(*) FROM orders WHERE order_kind <> 'sale' AND customer_id IS NOT NULL"),
            "guest_orders": one("SELECT count(*) FROM orders WHERE customer_id IS NULL"),
            "voided_sales": len(voided),
            "voided_customers": sorted(set(voided["customer_id"].tolist())),
            "first_day": str(one("SELECT min(timezone('UTC', ordered_at))::DATE FROM orders")),
            "last_day": str(one("SELECT max(timezone('UTC', ordered_at))::DATE FROM orders")),
            "size_mb": warehouse.stat().st_size / 1e6,
        }


def verify(dumps: dict[str, Path], facts: dict) -> dict:
    """Compare the three results: by-day columns with lifetimes, every column with the hand-written query."""
    import numpy as np
    import pandas as pd

    present = {name: pd.read_parquet(path).set_index("customer_id").sort_index()
               for name, path in dumps.items() if path.exists()}
    checks: dict = {}
    fidelis = present.get("fidelis")
    if fidelis is None:
        return {"error": "no Fidelis result to compare"}
    if "lifetimes" in present:
        lt = present["lifetimes"]
        skip = set(facts["voided_customers"])  # lifetimes was given their voided sales; Fidelis leaves them out
        ids = fidelis.index.difference(list(skip))
        checks["lifetimes_same_customers"] = bool(lt.index.difference(list(skip)).equals(ids))
        both = ids.intersection(lt.index)
        mismatches = {}
        for ours, theirs in (("frequency_by_day", "frequency"), ("recency_by_day", "recency"), ("tenure_by_day", "T")):
            diff = fidelis.loc[both, ours].to_numpy() != lt.loc[both, theirs].to_numpy()
            mismatches[f"{ours} vs {theirs}"] = int(diff.sum())
            if diff.any():
                sample = both[diff][:5]
                checks.setdefault("lifetimes_samples", {})[ours] = {
                    int(i): [float(fidelis.at[i, ours]), float(lt.at[i, theirs])] for i in sample}
        checks["lifetimes_compared"] = len(both)
        checks["lifetimes_excluded_voided"] = len(skip)
        checks["lifetimes_mismatches"] = mismatches
        # Monetary: lifetimes takes the mean of the repeat *days'* summed value, Fidelis the mean of the
        # repeat *orders*. They coincide when every purchase is on its own day.
        f = fidelis.loc[both]
        same_def = (f["purchases"] == f["frequency_by_day"] + 1) & (f["frequency"] > 0)
        gap = (f.loc[same_def, "monetary_repeat_mean"] - lt.loc[both][same_def]["monetary_value"]).abs()
        checks["monetary_compared"] = int(same_def.sum())
        checks["monetary_max_abs_diff"] = float(gap.max()) if len(gap) else 0.0
        checks["monetary_differs_by_definition"] = int(((f["frequency"] > 0) & ~same_def).sum())
    if "hand" in present:
        hand = present["hand"]
        checks["hand_same_customers"] = bool(hand.index.equals(fidelis.index))
        both = fidelis.index.intersection(hand.index)
        a, b = fidelis.loc[both], hand.loc[both]
        bad = {}
        for column in INT_COLUMNS:
            bad[column] = int((a[column].to_numpy() != b[column].to_numpy()).sum())
        for column in FLOAT_COLUMNS:
            x, y = a[column].to_numpy(dtype="float64"), b[column].to_numpy(dtype="float64")
            bad[column] = int((~np.isclose(x, y, rtol=1e-9, atol=1e-6, equal_nan=True)).sum())
        for column in TEXT_COLUMNS:
            x, y = a[column].fillna("<null>").to_numpy(), b[column].fillna("<null>").to_numpy()
            bad[column] = int((x != y).sum())
        checks["hand_compared"] = len(both)
        checks["hand_mismatches"] = {k: v for k, v in bad.items() if v}
    return checks


def machine() -> dict:
    import duckdb
    import ibis
    import pandas as pd
    import pyarrow

    first = proc_field

    try:
        from importlib.metadata import version
        lifetimes = version("lifetimes")
    except Exception:  # noqa: BLE001 - not installed
        lifetimes = "not installed"
    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cores": os.cpu_count(), "cpu": first("/proc/cpuinfo", "model name"),
        "ram_gb": round(int(mem_kb) / 1024 / 1024) if mem_kb.isdigit() else "?",
        "python": platform.python_version(), "duckdb": duckdb.__version__, "ibis": ibis.__version__,
        "pandas": pd.__version__, "pyarrow": pyarrow.__version__, "lifetimes": lifetimes,
        "load": os.getloadavg()[0], "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--", "src")),
    }


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=ROOT)
    return out.stdout.strip() if out.returncode == 0 else ""


def median(runs: list[dict], key: str = "seconds") -> float | None:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def render(args, results: dict[str, list[dict]], facts: dict, checks: dict, profile: dict, env: dict,
           build: dict) -> str:
    fidelis = median(results["fidelis"])
    lt_load = [r["extra"]["load_seconds"] for r in results["lifetimes"] if "extra" in r]
    lt_total = [r["seconds"] + r["extra"]["load_seconds"] for r in results["lifetimes"] if "extra" in r]
    path = next((r["extra"].get("path") for r in results["fidelis"] if "extra" in r), "to_pandas")
    prepared = next((r["extra"].get("prepared") for r in results["fidelis"] if "extra" in r), False)
    call = "exact_frame(customer_history(inputs))" if path == "exact_frame" else "customer_history(inputs).to_pandas()"
    full = "exact_frame(customer_summary(...))" if path == "exact_frame" else "customer_summary(...).to_pandas()"
    inputs_note = "prepared inputs" if prepared else "inputs not prepared, the default"
    rows = [
        (f"Fidelis `{call}`, with `open_warehouse` + `inputs_from_backend` ({inputs_note})", results["fidelis"]),
        ("hand-written DuckDB SQL, `duckdb.connect` + `.df()`", results["hand"]),
        ("lifetimes `summary_data_from_transaction_data(freq='D')`, input frame given", results["lifetimes"]),
        ("lifetimes' input frame, DuckDB → pandas (not in the line above)",
         [{"seconds": s, "peak_rss_mb": None} for s in lt_load]),
        ("lifetimes including its input frame", [{"seconds": s, "peak_rss_mb": None} for s in lt_total]),
    ]
    if path == "exact_frame":
        rows.append(("Fidelis `customer_history(inputs).to_pandas()` (Ibis' conversion: money as Python `Decimal`)",
                     results["fidelis_to_pandas"]))
    rows += [
        (f"Fidelis full summary (RFM scores, segments, tiers, stages), `{full}`", results["fidelis_summary"]),
        ("Fidelis `materialise_summary` (stored table + k-means clusters, as `fidelis segments`)",
         results["fidelis_materialise"]),
    ]

    def cell(value, fmt):
        return "–" if value is None else format(value, fmt)

    lines = [
        "## Customer summary",
        "",
        (f"Measured {time.strftime('%Y-%m-%d')} with `bench/summary_bench.py` (`make bench-summary`) on "
        f"{env['cores']} cores ({env['cpu']}), {env['ram_gb']} GB RAM, a shared machine (load average "
        f"{env['load']:.1f} at the start); Python {env['python']}, DuckDB {env['duckdb']}, Ibis {env['ibis']}, "
        f"pandas {env['pandas']}, pyarrow {env['pyarrow']}, lifetimes {env['lifetimes']}; Fidelis at "
        f"{env['commit'] or 'an unknown commit'}{' with uncommitted changes in src/' if env['dirty'] else ''}."),
        "",
        f"Data: `fidelis synth --customers {args.customers:,} --seed {args.seed} --format parquet`, orders loaded "
        f"with `fidelis ingest` (reporting currency USD; feedback not loaded, the summary does not read it): "
        f"{facts['order_lines']:,} order lines, {facts['order_rows']:,} orders, of which "
        f"**{facts['purchases']:,} purchases** (sales of known customers) by **{facts['buyers']:,} customers**, "
        f"on {facts['purchase_days']:,} customer-days; {facts['refund_documents']:,} refund documents, "
        f"{facts['guest_orders']:,} guest orders, {facts['voided_sales']:,} voided sales; "
        f"{facts['first_day']} to {facts['last_day']} (as-of: midnight after the last day); warehouse "
        f"{facts['size_mb']:,.0f} MB" + (f", built in {build['ingest_seconds']:.0f} s." if build.get("ingest_seconds")
                                         else "."),
        "",
        ("Every run is a fresh process; contenders are interleaved; times exclude interpreter start and imports; "
        "peak memory is the process's max RSS (it includes the libraries each side imports). Fidelis and the "
        "hand-written query both start from the warehouse file and end with one pandas DataFrame of the same "
        "columns per customer (frequency, recency, T exact and by day, sales, refunds, net, monetary means, "
        "market). lifetimes is handed the purchases as a pandas frame (customer_id, UTC-naive ordered_at, "
        "amount_reporting as float) and computes frequency, recency, T and monetary value by calendar day; "
        "loading that frame is timed separately."),
        "",
        "| contender | median s | runs | peak RSS MB | × Fidelis time |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, runs in rows:
        ok = [r for r in runs if "seconds" in r]
        if not ok:
            lines.append(f"| {label} | not available | 0 | – | – |")
            continue
        m = median(ok)
        rss = median([r for r in ok if r.get("peak_rss_mb") is not None], "peak_rss_mb")
        ratio = m / fidelis if fidelis else None
        lines.append(f"| {label} | {m:.2f} | {len(ok)} | {cell(rss, ',.0f')} | {cell(ratio, '.2f')} |")
    analyze = [r for r in results["analyze"] if "seconds" in r]
    if results["analyze"] and not analyze:
        lines.append("| `fidelis analyze` Online Retail (whole command) | failed | 0 | – | – |")
    elif analyze:
        lines.append(f"| `fidelis analyze` Online Retail 2010-12–2011-08, whole command, 2 cores | "
                     f"{median(analyze):.2f} | {len(analyze)} | {median(analyze, 'peak_rss_mb'):,.0f} | – |")
    elif args.analyze_runs > 0:
        lines.append("| `fidelis analyze` Online Retail (whole command) | not available | 0 | – | – |")

    hand, lifetimes = median(results["hand"]), median(results["lifetimes"])
    verdicts = []
    if fidelis and lifetimes:
        speedup = lifetimes / fidelis
        verdicts.append(f"Fidelis vs lifetimes: lifetimes takes {speedup:.2f}× Fidelis' time (aim ≥ "
                        f"{AIM_VS_LIFETIMES:g}×): **{'met' if speedup >= AIM_VS_LIFETIMES else 'not met'}**")
    if fidelis and hand:
        slowdown = fidelis / hand
        verdicts.append(f"Fidelis vs the hand-written query: Fidelis takes {slowdown:.2f}× its time (aim ≤ "
                        f"{AIM_VS_HAND:g}×): **{'met' if slowdown <= AIM_VS_HAND else 'not met'}**")
    to_pandas = median(results["fidelis_to_pandas"])
    if to_pandas and hand and lifetimes:
        verdicts.append(f"with `customer_history(inputs).to_pandas()` instead (the call the issue names), Fidelis "
                        f"takes {to_pandas / hand:.2f}× the hand-written query's time "
                        f"(**{'met' if to_pandas / hand <= AIM_VS_HAND else 'not met'}**) and lifetimes "
                        f"{lifetimes / to_pandas:.2f}× Fidelis' time "
                        f"(**{'met' if lifetimes / to_pandas >= AIM_VS_LIFETIMES else 'not met'}**)")
    if hand and lifetimes:
        verdicts.append(f"for scale, lifetimes takes {lifetimes / hand:.2f}× the hand-written query's time")
    if analyze:
        verdicts.append(f"`fidelis analyze` on Online Retail: {median(analyze):.1f} s (aim < "
                        f"{AIM_ANALYZE_SECONDS:g} s): **{'met' if median(analyze) < AIM_ANALYZE_SECONDS else 'not met'}**")
    elif not results["analyze"] and args.analyze_runs > 0:
        verdicts.append("`fidelis analyze`: not available in this checkout")
    lines += ["", "Aims: " + "; ".join(verdicts) + "." if verdicts else "Aims: not measured."]

    lines += ["", "Checks (first run of each): " + describe_checks(checks)]
    if profile:
        lines += ["", "Where Fidelis' time goes (one separate run, seconds; steps run one after the other):", "",
                  "| step | s |", "|---|---:|"]
        labels = {
            "open_warehouse": "open the warehouse",
            "inputs_from_backend": "`inputs_from_backend` as called above (as-of lookup, checks"
                                   + (", prepared temporary tables)" if profile.get("prepared") else ")"),
            "ibis_compile": "build the `customer_history` expression and compile it to SQL",
            "execute_to_arrow": "DuckDB executes it into Arrow (`to_pyarrow`)",
            "arrow_to_pandas": "Arrow → pandas, money as Arrow decimals (`exact_frame`)",
            "duckdb_df_same_sql": "for comparison: the same SQL through DuckDB's `.df()` (money as float64)",
            "prepare_temp_tables": "for comparison: preparing the inputs into temporary tables (as `fidelis analyze` "
                                   "does for its many aggregates)",
            "prepared_history_to_arrow": "for comparison: `customer_history` over prepared inputs, into Arrow",
        }
        for key, label in labels.items():
            if key in profile:
                lines.append(f"| {label} | {profile[key]:.2f} |")
    split = profile.get("analyze_split") if profile else None
    if split:
        named = {"imports_at_start": "imports at start", "ingest_paths": "ingest",
                 "materialise_summary": "customer summary with clusters (`materialise_summary`)",
                 "write_report": "HTML report and exports"}
        parts = [f"{label} {split[key]:.1f} s" for key, label in named.items() if key in split]
        rest = split.get("command", 0) - sum(split.get(k, 0) for k in ("ingest_paths", "materialise_summary",
                                                                         "write_report"))
        lines += ["", (f"Where `fidelis analyze` spends its time (one in-process run): {', '.join(parts)}, the other "
                      f"tables (KPIs, cohorts, targets, segment aggregates) and the rest {rest:.1f} s.")]
    conversions = [r["extra"] for r in results["fidelis_to_pandas"] if "extra" in r]
    if conversions:
        share = statistics.median(e["ibis_conversion_seconds"] for e in conversions)
        lines += ["", (f"In `customer_history(inputs).to_pandas()`, {share:.1f} s (median) is Ibis' "
                      "`PandasData.convert_table`, which runs twice per result (in the DuckDB backend's `execute` "
                      "and again in `__pandas_result__`) and spends almost all of it turning the "
                      f"{conversions[0]['decimal_columns']} DECIMAL money columns into Python `Decimal` objects, "
                      "value by value (`convert_Decimal` → `normalize_decimal`).")]
    lines += ["", "All runs (seconds):", ""]
    for name, runs in results.items():
        ok = [f"{r['seconds']:.2f}" for r in runs if "seconds" in r]
        if ok:
            lines.append(f"- {name}: {', '.join(ok)}")
    if lt_load:
        lines.append(f"- lifetimes input frame load: {', '.join(f'{s:.2f}' for s in lt_load)}")
    return "\n".join(lines) + "\n"


def describe_checks(checks: dict) -> str:
    if "error" in checks:
        return checks["error"] + "."
    parts = []
    if "lifetimes_mismatches" in checks:
        total = sum(checks["lifetimes_mismatches"].values())
        same = "same customers" if checks["lifetimes_same_customers"] else "**different customer sets**"
        if total == 0:
            parts.append(f"Fidelis' `frequency_by_day`, `recency_by_day`, `tenure_by_day` equal lifetimes' "
                         f"`frequency`, `recency`, `T` for all {checks['lifetimes_compared']:,} customers ({same})")
        else:
            parts.append(f"by-day columns vs lifetimes: **mismatches** {checks['lifetimes_mismatches']} of "
                         f"{checks['lifetimes_compared']:,} customers ({same}); samples (Fidelis, lifetimes): "
                         f"{checks.get('lifetimes_samples')}")
        if checks["lifetimes_excluded_voided"]:
            parts.append(f"{checks['lifetimes_excluded_voided']:,} customers with voided sales left out of that "
                         "comparison (lifetimes is given their voided sales)")
        gap = checks["monetary_max_abs_diff"]
        rounding = " (Fidelis rounds means to 4 decimals)" if 1e-9 < gap <= 5.0001e-5 else ""
        parts.append(f"monetary value compared where the definitions coincide (every purchase on its own day, "
                     f"{checks['monetary_compared']:,} repeat customers): max difference {gap:.2g}{rounding}; for the "
                     f"other {checks['monetary_differs_by_definition']:,} repeat customers lifetimes averages per "
                     "repeat day, Fidelis per repeat order, so they differ by definition")
    if "hand_mismatches" in checks:
        same = "same customers" if checks["hand_same_customers"] else "**different customer sets**"
        if not checks["hand_mismatches"]:
            parts.append(f"the hand-written query equals Fidelis on every column for all "
                         f"{checks['hand_compared']:,} customers ({same}; money within 1e-6)")
        else:
            parts.append(f"hand-written query vs Fidelis: **mismatches** {checks['hand_mismatches']} ({same})")
    return "; ".join(parts) + "."


def write_doc(section: str) -> None:
    write_section(section, START_MARKER, END_MARKER, DOC)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="runs of Fidelis and of the hand-written query")
    parser.add_argument("--lifetimes-runs", type=int, default=3)
    parser.add_argument("--summary-runs", type=int, default=2,
                        help="runs of .to_pandas(), of the full customer_summary and of materialise_summary")
    parser.add_argument("--analyze-runs", type=int, default=3, help="runs of `fidelis analyze` (0: skip)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate and reload the cached warehouse")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    args = parser.parse_args()

    began = time.perf_counter()
    warehouse, build = ensure_warehouse(args.customers, args.seed, args.rebuild)
    facts = data_facts(warehouse)
    env = machine()
    print(f"{facts['purchases']:,} purchases by {facts['buyers']:,} customers in {warehouse}", flush=True)
    with_analyze = args.analyze_runs > 0 and analyze_available() and ONLINE_RETAIL.exists()
    if args.analyze_runs > 0 and not with_analyze:
        print("fidelis analyze: not available (command or Online Retail file missing)", flush=True)
    results: dict[str, list[dict]] = {name: [] for name in
                                      ("fidelis", "hand", "lifetimes", "fidelis_to_pandas", "fidelis_summary",
                                       "fidelis_materialise",
                                       "analyze")}
    with tempfile.TemporaryDirectory(prefix="summary-bench-", dir=WORK) as tmp:
        workdir = Path(tmp)
        scratch = workdir / "scratch.duckdb"  # materialise_summary writes; the cache stays as built
        shutil.copyfile(warehouse, scratch)
        dumps = {name: workdir / f"{name}.parquet" for name in ("fidelis", "hand", "lifetimes")}
        plan = [("fidelis", args.runs), ("hand", args.runs), ("lifetimes", args.lifetimes_runs),
                ("fidelis_to_pandas", args.summary_runs if has_exact_frame() else 0),
                ("fidelis_summary", args.summary_runs),
                ("fidelis_materialise", args.summary_runs),
                ("analyze", args.analyze_runs if with_analyze else 0)]
        for round_ in range(max(n for _, n in plan)):
            print(f"round {round_ + 1}", flush=True)
            for name, runs in plan:
                if round_ >= runs:
                    continue
                if name == "analyze":
                    results[name].append(run_analyze(workdir))
                    continue
                target = scratch if name == "fidelis_materialise" else warehouse
                results[name].append(run_child(name, target, dumps.get(name) if round_ == 0 else None))
        print("profile", flush=True)
        profile = run_child("profile", warehouse).get("extra", {})
        profile["analyze_split"] = run_analyze_split(workdir) if with_analyze else {}
        checks = verify(dumps, facts)
    (WORK / f"summary-bench-results-c{args.customers}-s{args.seed}.json").write_text(json.dumps(
        {"results": results, "facts": {k: v for k, v in facts.items() if k != "voided_customers"},
         "checks": checks, "profile": profile, "env": env, "build": build}, indent=1, default=str))
    section = render(args, results, facts, checks, profile, env, build)
    print(section)
    print(f"(bench took {time.perf_counter() - began:.0f} s)")
    if not args.no_write:
        write_doc(section)


if __name__ == "__main__":
    main()
