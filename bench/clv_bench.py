"""CLV model benchmark: Fidelis' BG/NBD, Pareto/NBD and Gamma-Gamma against `lifetimes`, same data.

The data are drawn with `fidelis.synth.model.sample_customers` / `sample_purchases` from the same
random streams as `fidelis synth --customers N --seed S` (default parameters: BG/NBD r=0.75,
alpha=60 days, a=0.8, b=2.5; Gamma-Gamma p=6, q=4, gamma=40; window 2023-01-01 to 2025-12-31),
then summarised per customer by calendar day, lifetimes' convention
(`summary_data_from_transaction_data(freq="D")` with the window's last day as observation end):
frequency = distinct purchase days - 1, recency = last - first purchase day, T = last day of the
window - first purchase day, monetary value = mean of the repeat days' spend (0 without repeats).
Customers whose first purchase is on the window's last day (T = 0) are left out for both libraries:
Fidelis refuses T = 0 and their likelihood contribution is exactly 0 in both models. The arrays are
cached under bench/.work/clv-c<customers>-s<seed>.npz.

For every model and size, in one invocation, interleaved, the same float64 arrays go to
- Fidelis: `BetaGeoModel().fit(frequency, recency, T, time_unit="days")`, `ParetoNBDModel()` likewise,
  `GammaGammaModel().fit(frequency, monetary_value)`; predictions `expected_purchases(365, ...)` plus
  `p_alive(...)`, and `expected_spend(...)`;
- lifetimes: `BetaGeoFitter().fit(frequency, recency, T)`, `ParetoNBDFitter()` likewise (numpy's
  global generator seeded with 0 first, as it draws its starting point from it),
  `GammaGammaFitter().fit(...)`; predictions `conditional_expected_number_of_purchases_up_to_time(365,
  ...)` plus `conditional_probability_alive(...)`, and `conditional_expected_average_profit(...)`.
Gamma-Gamma is fitted to the repeat customers (frequency > 0) and predicts for all (the population
mean for those without repeats, in both libraries).

Each run is a fresh child process; times exclude interpreter start, imports and loading the arrays;
peak memory is the child's peak RSS (VmHWM). Figures are medians. A run longer than --cap seconds
(the whole child process) is stopped and recorded as not finished, and that contender is not run
again at that size. The first run of each contender writes its
predictions, and the parent compares: the log-likelihoods (each library's own, and both parameter
sets evaluated by one reference formula), and the predictions at the same parameters. Raw figures go
to bench/.work/clv-bench-results-s<seed>-c<sizes>-<models>.json.

    .venv/bin/python bench/clv_bench.py                       # 100k and 1M customers, seed 1
    .venv/bin/python bench/clv_bench.py --sizes 20000 --runs 2 --lifetimes-runs 1 --no-write

Writes docs/benchmarks.md (the CLV models section, between its markers) and prints it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
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
DOC = ROOT / "docs" / "benchmarks.md"
START_MARKER = "<!-- clv-bench:start -->"
END_MARKER = "<!-- clv-bench:end -->"
HEADING = "## CLV models"

AIM_BGNBD_SPEEDUP = 10.0  # Fidelis' BG/NBD fit at the largest size at least this many times faster
AIM_LL_RELATIVE = 1e-6  # ... with the same total log-likelihood to this relative difference
HORIZON_DAYS = 365.0
LIBRARIES = ("fidelis", "lifetimes")
NAMES = {"fidelis": "Fidelis", "lifetimes": "lifetimes"}
MODELS = {
    "bgnbd": {"label": "BG/NBD", "params": ("r", "alpha", "a", "b"),
              "fidelis": "BetaGeoModel", "lifetimes": "BetaGeoFitter"},
    "pareto": {"label": "Pareto/NBD", "params": ("r", "alpha", "s", "beta"),
               "fidelis": "ParetoNBDModel", "lifetimes": "ParetoNBDFitter"},
    "gg": {"label": "Gamma-Gamma", "params": ("p", "q", "gamma"),
           "fidelis": "GammaGammaModel", "lifetimes": "GammaGammaFitter"},
}


# ------------------------------------------------------------------------------------------ data

def build_arrays(customers: int, seed: int) -> dict:
    """Per-customer (frequency, recency, T, monetary value) by calendar day, as lifetimes summarises."""
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from fidelis.synth import generator
    from fidelis.synth.markets import COUNTRIES
    from fidelis.synth.model import SECONDS_PER_DAY, Window, sample_customers, sample_purchases
    from fidelis.synth.params import SynthParams

    start = datetime.combine(generator.DEFAULT_START, datetime.min.time(), UTC)
    end = datetime.combine(generator.DEFAULT_END + timedelta(days=1), datetime.min.time(), UTC)
    window = Window(int(start.timestamp()), int(end.timestamp()))
    params = SynthParams()
    # The same streams as `fidelis synth --seed S`: one child generator per stage, in the generator's order.
    streams = dict(zip(generator._STREAMS, np.random.default_rng(seed).spawn(len(generator._STREAMS)), strict=True))
    weights = np.array([c.weight for c in COUNTRIES]) / sum(c.weight for c in COUNTRIES)
    people = sample_customers(streams["customers"], customers, params, window, weights)
    purchases, _last_s = sample_purchases(streams["purchases"], people, params)

    day = purchases.at_s // SECONDS_PER_DAY
    order = np.lexsort((day, purchases.customer))
    owner, day, value = purchases.customer[order], day[order], purchases.value[order]
    new_day = np.ones(len(owner), bool)
    new_day[1:] = (owner[1:] != owner[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_day)
    day_owner, day_number, day_value = owner[starts], day[starts], np.add.reduceat(value, starts)
    days_per_customer = np.bincount(day_owner, minlength=customers)
    first = np.cumsum(days_per_customer) - days_per_customer
    last = first + days_per_customer - 1
    end_day = window.end_s // SECONDS_PER_DAY - 1  # the window's last calendar day
    frequency = days_per_customer - 1
    recency = day_number[last] - day_number[first]
    age = end_day - day_number[first]
    repeat_value = np.bincount(day_owner, weights=day_value, minlength=customers) - day_value[first]
    monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1), 0.0)
    keep = age > 0
    return {
        "frequency": frequency[keep].astype(np.float64), "recency": recency[keep].astype(np.float64),
        "T": age[keep].astype(np.float64), "monetary_value": monetary[keep],
        "drawn": np.int64(customers), "left_out_T0": np.int64((~keep).sum()),
        "purchases": np.int64(len(purchases.at_s)), "purchase_days": np.int64(len(starts)),
    }


def ensure_data(customers: int, seed: int, rebuild: bool) -> Path:
    path = WORK / f"clv-c{customers}-s{seed}.npz"
    if path.exists() and not rebuild:
        return path
    import numpy as np

    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    arrays = build_arrays(customers, seed)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, **arrays)
    partial.rename(path)
    print(f"generated {customers:,} customers in {time.perf_counter() - started:.1f} s -> {path}", flush=True)
    return path


def data_facts(path: Path) -> dict:
    import numpy as np

    with np.load(path) as d:
        x = d["frequency"]
        rows = np.unique(np.stack([x, d["recency"], d["T"]], axis=1), axis=0)
        return {"distinct_rows": len(rows), "drawn": int(d["drawn"]), "customers": len(x),
                "left_out_T0": int(d["left_out_T0"]),
                "purchases": int(d["purchases"]), "purchase_days": int(d["purchase_days"]),
                "repeaters": int((x > 0).sum()), "mean_frequency": float(x.mean()), "max_frequency": int(x.max()),
                "mean_repeat_spend": float(d["monetary_value"][x > 0].mean())}


# ------------------------------------------------------------------------------------------ children
# `clv_bench.py --child LIBRARY MODEL DATA DUMP` runs one fit and prediction and prints one JSON line:
# fit_seconds, predict_seconds, peak_rss_mb, rss_before_mb, params, log_likelihood, extra.

def _memory_mb(key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not getrusage's ru_maxrss: Linux carries that over
    from the parent through fork and exec, so a child would report at least the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def child_fidelis(model: str, d: dict) -> tuple[float, float, dict, float, dict, dict]:
    from fidelis.models import clv

    x, t_x, age, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    cls = getattr(clv, MODELS[model]["fidelis"])
    if model == "gg":
        rep = x > 0
        started = time.perf_counter()
        fitted = cls().fit(x[rep], m[rep])
        fitted_at = time.perf_counter()
        predictions = {"spend": fitted.expected_spend(x, m)}
    else:
        started = time.perf_counter()
        fitted = cls().fit(x, t_x, age, time_unit="days")
        fitted_at = time.perf_counter()
        predictions = {"expected": fitted.expected_purchases(HORIZON_DAYS, x, t_x, age),
                       "p_alive": fitted.p_alive(x, t_x, age)}
    done = time.perf_counter()
    extra = {}
    diagnostics = getattr(fitted, "diagnostics", None)
    if diagnostics is not None:
        extra = {k: getattr(diagnostics, k) for k in ("iterations", "starts_tried", "starts_converged",
                                                      "gradient_norm", "warnings") if hasattr(diagnostics, k)}
    return (fitted_at - started, done - fitted_at, {k: float(v) for k, v in fitted.params.items()},
            float(fitted.log_likelihood), extra, predictions)


def child_lifetimes(model: str, d: dict) -> tuple[float, float, dict, float, dict, dict]:
    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    x, t_x, age, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    np.random.seed(0)  # ParetoNBDFitter draws its starting point from numpy's global generator
    if model == "gg":
        rep = x > 0
        started = time.perf_counter()
        fitted = GammaGammaFitter().fit(x[rep], m[rep])
        fitted_at = time.perf_counter()
        predictions = {"spend": np.asarray(fitted.conditional_expected_average_profit(x, m))}
    else:
        cls = BetaGeoFitter if model == "bgnbd" else ParetoNBDFitter
        started = time.perf_counter()
        fitted = cls().fit(x, t_x, age)
        fitted_at = time.perf_counter()
        expected = fitted.conditional_expected_number_of_purchases_up_to_time(HORIZON_DAYS, x, t_x, age)
        predictions = {"expected": np.asarray(expected),
                       "p_alive": np.asarray(fitted.conditional_probability_alive(x, t_x, age))}
    done = time.perf_counter()
    reported = float(fitted._negative_log_likelihood_)
    # lifetimes keeps the minimised objective, not a log-likelihood attribute: for BG/NBD and Gamma-Gamma
    # the mean negative LL per customer (divided by the sum of the weights), for Pareto/NBD the total
    # (divided by the mean weight, 1). BG/NBD and Pareto/NBD fit in time rescaled by 1/max(T), which
    # shifts the LL by -sum(x) log(scale) (the density of x purchase times): added back here, in days.
    customers = {"bgnbd": len(x), "gg": int((x > 0).sum()), "pareto": 1}[model]
    total = -reported * customers
    if model != "gg":
        total += float(x.sum()) * math.log(fitted._scale)
    params = {("gamma" if k == "v" else k): float(v) for k, v in fitted.params_.items()}
    return (fitted_at - started, done - fitted_at, params, total,
            {"negative_log_likelihood_": reported, "time_scale": getattr(fitted, "_scale", None)}, predictions)


def child_main(library: str, model: str, data: str, dump: str) -> None:
    import numpy as np

    warnings.simplefilter("ignore")
    if library == "fidelis":
        import fidelis.models.clv  # noqa: F401
    else:
        import lifetimes  # noqa: F401
    with np.load(data) as f:
        arrays = {k: f[k] for k in ("frequency", "recency", "T", "monetary_value")}
    before = _memory_mb("VmRSS")
    runner = child_fidelis if library == "fidelis" else child_lifetimes
    fit_s, predict_s, params, ll, extra, predictions = runner(model, arrays)
    peak = _memory_mb("VmHWM")
    if dump:
        np.savez(dump, **{k: np.asarray(v, dtype=np.float64) for k, v in predictions.items()})
    print(json.dumps({"fit_seconds": fit_s, "predict_seconds": predict_s, "peak_rss_mb": peak,
                      "rss_before_mb": before, "params": params, "log_likelihood": ll, "extra": extra},
                     default=str))


# ------------------------------------------------------------------------------------------ parent

def run_child(library: str, model: str, data: Path, dump: Path | None, cap: float) -> dict:
    command = [sys.executable, __file__, "--child", library, model, str(data), str(dump or "")]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, timeout=cap)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        print(f"  {library} {model}: did not finish within {cap:.0f} s", flush=True)
        return {"timeout": cap}
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-6:])
        print(f"  {library} {model}: failed\n{tail}", flush=True)
        return {"failed": tail}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    shown = ", ".join(f"{k}={v:.4g}" for k, v in result["params"].items())
    print(f"  {library} {model}: fit {result['fit_seconds']:.2f} s, predict {result['predict_seconds']:.2f} s, "
          f"{result['peak_rss_mb']:.0f} MB, LL {result['log_likelihood']:.6f} ({shown})", flush=True)
    return result


def reference_log_likelihood(model: str, params: dict, d: dict, scale: float | None = None) -> float:
    """Total LL in days of `params` on the data by the papers' formulas, as lifetimes' static functions
    write them (no library's fitting code involved). The purchase models are evaluated in time rescaled
    by `scale` (default 1/max(T), as lifetimes' fit does) and shifted back to days by sum(x) log(scale);
    `scale=1` evaluates them in days directly."""
    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    x, t_x, age, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    scale = 1.0 / float(age.max()) if scale is None else scale
    shift = float(x.sum()) * math.log(scale)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if model == "bgnbd":
            values = np.log([params["r"], params["alpha"] * scale, params["a"], params["b"]])
            mean = -BetaGeoFitter._negative_log_likelihood(values, x, t_x * scale, age * scale, np.ones_like(x), 0.0)
            return float(mean * len(x)) + shift
        if model == "pareto":
            values = [params["r"], params["alpha"] * scale, params["s"], params["beta"] * scale]
            terms = ParetoNBDFitter._conditional_log_likelihood(values, x, t_x * scale, age * scale)
            return float(terms.sum()) + shift
        rep = x > 0
        values = np.log([params[k] for k in ("p", "q", "gamma")])
        return float(-GammaGammaFitter._negative_log_likelihood(values, x[rep], m[rep], np.ones(rep.sum()), 0.0)
                     * rep.sum())


def lifetimes_predictions_at(model: str, params: dict, d: dict) -> dict:
    """lifetimes' prediction formulas evaluated at the given (e.g. Fidelis') parameters."""
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    x, t_x, age, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if model == "gg":
            fitter = GammaGammaFitter()
            fitter.params_ = pd.Series({"p": params["p"], "q": params["q"], "v": params["gamma"]})
            return {"spend": np.asarray(fitter.conditional_expected_average_profit(x, m), dtype=float)}
        fitter = BetaGeoFitter() if model == "bgnbd" else ParetoNBDFitter()
        fitter.params_ = pd.Series({k: params[k] for k in MODELS[model]["params"]})
        return {"expected": np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(
                    HORIZON_DAYS, x, t_x, age), dtype=float),
                "p_alive": np.asarray(fitter.conditional_probability_alive(x, t_x, age), dtype=float)}


def fidelis_log_likelihood_at(model: str, params: dict, d: dict) -> float | None:
    """Fidelis' own log-likelihood evaluated at other (lifetimes') parameters, where it offers that."""
    try:
        from fidelis.models import clv

        cls = getattr(clv, MODELS[model]["fidelis"])
        saved = {"model": cls.name, "params": params, "time_unit": "days"}
        fitted = cls.from_dict(saved)
        x, t_x, age, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
        if model == "gg":
            rep = x > 0
            return float(fitted.log_likelihood_of(x[rep], m[rep]))
        return float(fitted.log_likelihood_of(x, t_x, age))
    except Exception:  # noqa: BLE001 - an optional cross-check; reported as unavailable
        return None


def compare(cases: dict, data: dict[int, Path], dumps: dict) -> dict:
    """Log-likelihoods by one reference formula; predictions at each library's and at the same parameters."""
    import numpy as np

    checks = {}
    for (model, size), runs in cases.items():
        firsts = {lib: next((r for r in runs[lib] if "params" in r), None) for lib in LIBRARIES}
        with np.load(data[size]) as f:
            d = {k: f[k] for k in ("frequency", "recency", "T", "monetary_value")}
        check: dict = {}
        for lib, first in firsts.items():
            if first is None:
                continue
            check[f"reference_ll_{lib}"] = reference_log_likelihood(model, first["params"], d)
            check[f"reported_ll_{lib}"] = first["log_likelihood"]
            if model != "gg":  # the same formula straight in days, as lifetimes' predictions evaluate it
                check[f"reference_ll_in_days_{lib}"] = reference_log_likelihood(model, first["params"], d, scale=1.0)
        if firsts["lifetimes"] is not None:
            theirs = firsts["lifetimes"]["params"]
            check["fidelis_ll_at_lifetimes_params"] = fidelis_log_likelihood_at(model, theirs, d)
        paths = {lib: dumps[(model, size, lib)] for lib in LIBRARIES}
        own = {lib: dict(np.load(p)) for lib, p in paths.items() if p.exists()}
        if "fidelis" in own and firsts["fidelis"] is not None:
            # Same parameters: Fidelis' predictions against lifetimes' formulas at Fidelis' parameters.
            theirs = lifetimes_predictions_at(model, firsts["fidelis"]["params"], d)
            check["same_params"] = {k: _differences(own["fidelis"][k], v) for k, v in theirs.items()}
        if "lifetimes" in own:
            bad = ~np.all([np.isfinite(v) for v in own["lifetimes"].values()], axis=0)
            if bad.any():
                x, t_x, age = d["frequency"][bad], d["recency"][bad], d["T"][bad]
                check["lifetimes_non_finite"] = {"customers": int(bad.sum()), "min_frequency": int(x.min()),
                                                 "max_frequency": int(x.max()),
                                                 "recency_equals_T": int((t_x == age).sum())}
        if len(own) == 2:
            check["own_params"] = {k: _differences(own["fidelis"][k], own["lifetimes"][k]) for k in own["fidelis"]}
        checks[f"{model}-{size}"] = check
    return checks


def _differences(ours, theirs) -> dict:
    import numpy as np

    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    finite = np.isfinite(ours) & np.isfinite(theirs)
    gap = np.abs(ours[finite] - theirs[finite])
    scale = np.maximum(np.abs(theirs[finite]), 1e-12)
    return {"compared": int(finite.sum()), "non_finite_ours": int((~np.isfinite(ours)).sum()),
            "non_finite_theirs": int((~np.isfinite(theirs)).sum()),
            "max_abs": float(gap.max()) if gap.size else 0.0,
            "max_rel": float((gap / scale).max()) if gap.size else 0.0,
            "mean_ours": float(ours[finite].mean()) if gap.size else math.nan,
            "mean_theirs": float(theirs[finite].mean()) if gap.size else math.nan}


def models_version() -> str:
    """Hash of Fidelis' CLV model sources, taken before every run: the checkout may change under a bench."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "fidelis" / "models" / "clv").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=ROOT)
    return out.stdout.strip() if out.returncode == 0 else ""


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    first = proc_field

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cores": os.cpu_count(), "cpu": first("/proc/cpuinfo", "model name"),
        "ram_gb": round(int(mem_kb) / 1024 / 1024) if mem_kb.isdigit() else "?",
        "python": platform.python_version(),
        **{name: package(name) for name in ("numpy", "scipy", "pandas", "autograd", "lifetimes")},
        "load": os.getloadavg()[0], "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--", "src/fidelis/models")),
    }


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def _cell(value, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}×"


def _status(runs: list[dict]) -> str | None:
    """Why a contender has no figures: not finished within the cap, or failed."""
    if any("timeout" in r for r in runs):
        return f"did not finish within {max(r['timeout'] for r in runs if 'timeout' in r):.0f} s"
    if any("failed" in r for r in runs):
        return "failed: " + next(r["failed"] for r in runs if "failed" in r).splitlines()[-1][:120]
    return None


def _ll_spread(cases: dict) -> str:
    """Whether every run of a contender found the same log-likelihood (the LL column is their median)."""
    worst = 0.0
    for runs in cases.values():
        for lib in LIBRARIES:
            values = [r["log_likelihood"] for r in runs[lib] if "log_likelihood" in r]
            if len(values) > 1:
                worst = max(worst, (max(values) - min(values)) / abs(statistics.median(values)))
    if worst == 0.0:
        return "every run of a contender found exactly the same log-likelihood"
    return f"the runs of a contender differ in log-likelihood by at most {worst:.1e} relative"


def _relative(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or not theirs:
        return None
    return (ours - theirs) / abs(theirs)


def raw_results_path(args) -> Path:
    return WORK / f"clv-bench-results-s{args.seed}-c{args.sizes.replace(',', '-')}-{args.models.replace(',', '-')}.json"


def render(args, cases: dict, facts: dict[int, dict], checks: dict, env: dict) -> str:
    lines = [
        HEADING,
        "",
        (f"Measured {time.strftime('%Y-%m-%d')} with `bench/clv_bench.py` (`make bench-clv`; "
         f"`{' '.join(['.venv/bin/python', 'bench/clv_bench.py', *sys.argv[1:]])}`) on {env['cores']} cores "
         f"({env['cpu']}), {env['ram_gb']} GB RAM, a shared machine (load average {env['load']:.1f} at the start); "
         f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, pandas {env['pandas']}, "
         f"lifetimes {env['lifetimes']} (autograd {env['autograd']}); Fidelis at "
         f"{env['commit'] or 'an unknown commit'}"
         f"{' with uncommitted changes in src/fidelis/models/' if env['dirty'] else ''}."),
        "",
        ("Data: customers drawn with `fidelis.synth.model.sample_customers` / `sample_purchases` from the same "
         f"random streams as `fidelis synth --seed {args.seed}` (default parameters: BG/NBD r = 0.75, alpha = 60 "
         "days, a = 0.8, b = 2.5; Gamma-Gamma p = 6, q = 4, gamma = 40; 2023-01-01 to 2025-12-31), summarised "
         "by calendar day as lifetimes does (frequency = distinct purchase days − 1, recency and T in whole days "
         "to the window's last day, monetary value = mean spend of the repeat days). Customers whose first "
         "purchase is on the last day (T = 0) are left out for both libraries: Fidelis refuses T = 0, and their "
         "likelihood contribution is exactly 0 in both models. Both libraries get the same float64 arrays; "
         "Gamma-Gamma is fitted to the repeat customers and predicts for all (the population mean for those "
         "without repeats, in both libraries). Purchases and customer-days count every customer drawn: the "
         "purchases `fidelis synth` writes for the same customers and seed (the customer summary above loads "
         "the 1M set)."),
        "",
        ("| customers drawn | customers used (T > 0) | distinct (x, t_x, T) | repeat customers | purchases | "
         "customer-days | mean frequency | mean repeat spend |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, f in facts.items():
        lines.append(f"| {f['drawn']:,} | {f['customers']:,} | {f['distinct_rows']:,} | {f['repeaters']:,} | "
                     f"{f['purchases']:,} | "
                     f"{f['purchase_days']:,} | {f['mean_frequency']:.3f} | {f['mean_repeat_spend']:.2f} |")
    lines += [
        "",
        ("Every run is a fresh process; Fidelis and lifetimes runs are interleaved; times exclude interpreter "
         "start, imports and loading the arrays. *Fit* is the library's `fit` call as a user makes it (both "
         "include their standard errors: lifetimes' autograd Hessian for BG/NBD and Gamma-Gamma, Fidelis' "
         "finite differences of its analytic gradient; lifetimes' Pareto/NBD, a Nelder-Mead fit, computes none). "
         "Fidelis evaluates the likelihood once per distinct (x, t_x, T) row with a count; lifetimes' `fit` "
         "takes such counts too (`weights`), but the plain call measured here evaluates every customer. "
         "*Predict* is expected "
         f"purchases over the next {HORIZON_DAYS:.0f} days plus P(alive) for every customer, or the expected "
         "average spend of every customer for Gamma-Gamma. *Peak MB* is the process's peak RSS (VmHWM), "
         "imports and the data included; *MB before fit* its RSS just before the fit. *LL* is the total "
         "log-likelihood in days: Fidelis' "
         "`log_likelihood`; for lifetimes, which keeps only its minimised objective `_negative_log_likelihood_` "
         "(the mean per customer for BG/NBD and Gamma-Gamma, the total for Pareto/NBD, and for both purchase "
         "models in time rescaled by 1/max(T)), the total in days derived from it (adding Σx·log(1/max T)). "
         "*Rel. LL diff.* = (LL Fidelis − LL lifetimes) / |LL lifetimes|: positive means Fidelis found the "
         "higher likelihood. *Speed-up* = lifetimes' median / Fidelis' median."),
        "",
        ("| model | customers | library | runs | fit s (median) | predict s (median) | peak MB | MB before fit | "
         "LL | rel. LL diff. | fit speed-up | predict speed-up |"),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for (model, size), runs in cases.items():
        label = MODELS[model]["label"]
        ll = {lib: median(runs[lib], "log_likelihood") for lib in LIBRARIES}
        fit = {lib: median(runs[lib], "fit_seconds") for lib in LIBRARIES}
        pred = {lib: median(runs[lib], "predict_seconds") for lib in LIBRARIES}
        rel = _relative(ll["fidelis"], ll["lifetimes"])
        for lib in LIBRARIES:
            ok = [r for r in runs[lib] if "fit_seconds" in r]
            status = _status(runs[lib])
            if not ok:
                lines.append(f"| {label} | {size:,} | {NAMES[lib]} | {len(runs[lib])} | {status or 'not run'} | – | "
                             "– | – | – | – | – | – |")
                continue
            note = f" ({status} in {len(runs[lib]) - len(ok)} more)" if status else ""
            is_ours = lib == "fidelis"
            speedups = ""
            if is_ours:
                fit_speedup = fit["lifetimes"] / fit["fidelis"] if fit["lifetimes"] and fit["fidelis"] else None
                pred_speedup = pred["lifetimes"] / pred["fidelis"] if pred["lifetimes"] and pred["fidelis"] else None
                speedups = f"{_cell(rel, '+.2e')} | {_times(fit_speedup)} | {_times(pred_speedup)}"
            else:
                speedups = " | | "
            lines.append(
                f"| {label} | {size:,} | {NAMES[lib]} | {len(ok)}{note} | {fit[lib]:.3f} | {pred[lib]:.3f} | "
                f"{median(ok, 'peak_rss_mb'):,.0f} | {median(ok, 'rss_before_mb'):,.0f} | {ll[lib]:,.4f} | "
                f"{speedups} |")
        if model == "bgnbd" and size == max(s for _, s in cases):
            if fit["fidelis"] and fit["lifetimes"]:
                speedup = fit["lifetimes"] / fit["fidelis"]
                verdicts.append(f"BG/NBD fit at {size:,} customers: Fidelis {fit['fidelis']:.2f} s, lifetimes "
                                f"{fit['lifetimes']:.2f} s, lifetimes takes {_times(speedup)} Fidelis' time (aim ≥ "
                                f"{AIM_BGNBD_SPEEDUP:g}×): "
                                f"**{'met' if speedup >= AIM_BGNBD_SPEEDUP else 'not met'}**")
            if rel is not None:
                verdicts.append(f"same log-likelihood there: relative difference {rel:+.2e} (aim: at most "
                                f"{AIM_LL_RELATIVE:g} either way): **{'met' if abs(rel) <= AIM_LL_RELATIVE else 'not met'}**")
    lines += ["", "Aims (issue): " + ("; ".join(verdicts) if verdicts else "not measured") + "."]

    versions = sorted({r["models_version"] for runs in cases.values() for r in runs["fidelis"] if "models_version" in r})
    if len(versions) > 1:
        lines += ["", f"**Fidelis' model sources (src/fidelis/models/clv) changed during this bench: the Fidelis runs "
                      f"used {len(versions)} different versions**, so its medians mix them (see the raw results)."]
    elif versions:
        lines += ["", f"Fidelis' model sources were the same in every run (src/fidelis/models/clv, sha256 "
                      f"{versions[0]} over its .py files)."]
    spread = _ll_spread(cases)
    lines += ["", f"Fitted parameters (first run of each; {spread}):", "",
              "| model | customers | library | parameters |", "|---|---:|---|---|"]
    truth = {"bgnbd": "r 0.75, alpha 60, a 0.8, b 2.5", "gg": "p 6, q 4, gamma 40",
             "pareto": "none (the data follow BG/NBD)"}
    for (model, size), runs in cases.items():
        for lib in LIBRARIES:
            first = next((r for r in runs[lib] if "params" in r), None)
            if first:
                shown = ", ".join(f"{k} {v:.6g}" for k, v in first["params"].items())
                lines.append(f"| {MODELS[model]['label']} | {size:,} | {NAMES[lib]} | {shown} |")
        lines.append(f"| {MODELS[model]['label']} | {size:,} | generating values | {truth[model]} |")

    lines += ["", "Checks (first run of each):", ""]
    for (model, size), _runs in cases.items():
        check = checks.get(f"{model}-{size}", {})
        lines.append(f"- {MODELS[model]['label']}, {size:,}: " + describe_check(check))

    raw = raw_results_path(args).relative_to(ROOT)
    lines += ["", f"All runs (fit + predict seconds; raw results in `{raw}`, not kept in git):", ""]
    for (model, size), runs in cases.items():
        parts = []
        for lib in LIBRARIES:
            shown = [f"{r['fit_seconds']:.2f}+{r['predict_seconds']:.2f}" if "fit_seconds" in r
                     else ("not finished" if "timeout" in r else "failed") for r in runs[lib]]
            parts.append(f"{NAMES[lib]} {', '.join(shown) or '–'}")
        lines.append(f"- {MODELS[model]['label']} {_size(size)}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def describe_check(check: dict) -> str:
    parts = []
    ref_f, ref_l = check.get("reference_ll_fidelis"), check.get("reference_ll_lifetimes")
    if ref_f is not None and ref_l is not None:
        parts.append(f"reference LL (the papers' formula as lifetimes writes it, in its rescaled time, "
                     f"converted to days) at Fidelis' parameters "
                     f"{ref_f:,.4f}, at lifetimes' {ref_l:,.4f}, relative difference {_relative(ref_f, ref_l):+.2e}")
    for lib in LIBRARIES:
        reported, ref = check.get(f"reported_ll_{lib}"), check.get(f"reference_ll_{lib}")
        if reported is not None and ref is not None:
            parts.append(f"{NAMES[lib]}' LL (as in the table) vs the reference at its parameters "
                         f"{_relative(reported, ref):+.1e}")
    in_days = check.get("reference_ll_in_days_lifetimes")
    if in_days is not None and not math.isfinite(in_days):
        parts.append("**the same formula evaluated directly in days (as lifetimes' prediction methods do) is "
                     f"{in_days}** at lifetimes' parameters")
    if check.get("fidelis_ll_at_lifetimes_params") is not None and ref_l is not None:
        parts.append(f"Fidelis' LL function at lifetimes' parameters vs the reference "
                     f"{_relative(check['fidelis_ll_at_lifetimes_params'], ref_l):+.1e}")
    for key, title in (("same_params", "predictions at Fidelis' parameters, Fidelis vs lifetimes' formulas"),
                       ("own_params", "predictions at each library's own parameters")):
        if key in check:
            shown = ", ".join(_describe_gap(name, v) for name, v in check[key].items())
            parts.append(f"{title}: {shown}")
    bad = check.get("lifetimes_non_finite")
    if bad:
        who = "customer" if bad["customers"] == 1 else "customers"
        low, high = bad["min_frequency"], bad["max_frequency"]
        parts.append(f"**lifetimes' own predictions are NaN for {bad['customers']:,} {who}** (frequency "
                     f"{low if low == high else f'{low}–{high}'}, {bad['recency_equals_T']:,} of "
                     f"{bad['customers']:,} with the last purchase on the last day, recency = T); Fidelis' are "
                     "finite there")
    return "; ".join(parts) + "." if parts else "no result to compare."


def _describe_gap(name: str, gap: dict) -> str:
    missing = "".join(f", {gap[key]:,} not finite in {who}" for key, who in
                      (("non_finite_ours", "Fidelis' result"), ("non_finite_theirs", "lifetimes' result")) if gap[key])
    return (f"{name} max abs diff {gap['max_abs']:.2g} (max rel {gap['max_rel']:.2g}{missing}; means "
            f"{gap['mean_ours']:.4g} vs {gap['mean_theirs']:.4g})")


def write_doc(section: str) -> None:
    write_section(section, START_MARKER, END_MARKER, DOC)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="customer counts, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", default=",".join(MODELS), help=f"of {', '.join(MODELS)}")
    parser.add_argument("--runs", type=int, default=5, help="runs of Fidelis per model and size")
    parser.add_argument("--lifetimes-runs", type=int, default=3, help="runs of lifetimes per model and size")
    parser.add_argument("--cap", type=float, default=600.0,
                        help="seconds after which a run is stopped and recorded as not finished")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached arrays")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models: {', '.join(sorted(unknown))}")

    began = time.perf_counter()
    env = machine()
    data = {size: ensure_data(size, args.seed, args.rebuild) for size in sizes}
    facts = {size: data_facts(path) for size, path in data.items()}
    for size, f in facts.items():
        print(f"{size:,}: {f['customers']:,} customers (T > 0), {f['repeaters']:,} repeat customers, "
              f"{f['purchases']:,} purchases", flush=True)
    cases = {(model, size): {lib: [] for lib in LIBRARIES} for model in models for size in sizes}
    plan = {"fidelis": args.runs, "lifetimes": args.lifetimes_runs}
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="clv-bench-", dir=WORK) as tmp:
        dumps = {(model, size, lib): Path(tmp) / f"{model}-{size}-{lib}.npz"
                 for (model, size) in cases for lib in LIBRARIES}
        for round_ in range(max(plan.values())):
            print(f"round {round_ + 1}", flush=True)
            for (model, size), runs in cases.items():
                for lib in LIBRARIES:
                    if round_ >= plan[lib] or any("timeout" in r for r in runs[lib]):
                        continue  # a contender that hit the cap once is not run again
                    print(f" {MODELS[model]['label']} {_size(size)}", end="", flush=True)
                    dump = dumps[(model, size, lib)] if not dumps[(model, size, lib)].exists() else None
                    version = models_version()
                    runs[lib].append({**run_child(lib, model, data[size], dump, args.cap), "models_version": version})
        print("checks", flush=True)
        checks = compare(cases, data, dumps)
    raw_results_path(args).write_text(json.dumps(
        {"cases": {f"{m}-{s}": runs for (m, s), runs in cases.items()}, "facts": facts, "checks": checks,
         "env": env, "argv": sys.argv[1:]}, indent=1, default=str))
    section = render(args, cases, facts, checks, env)
    print(section)
    print(f"(bench took {time.perf_counter() - began:.0f} s)")
    if not args.no_write:
        write_doc(section)


if __name__ == "__main__":
    main()
