"""What every CLV model shares: validated input, the fitted state, summaries and JSON persistence.

`RepeatData` is the one door for the BG/NBD papers' (x, t_x, T) columns. `ParametricModel` holds a
fitted model's parameters, standard errors and diagnostics and knows how to summarise, save and load
them; `TransactionModel` adds the fit of the purchase-count models (BG/NBD, Pareto/NBD) from weighted
unique rows. Each concrete model only supplies its log-likelihood with analytic gradient, its
starting points and its predictions.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import fidelis
from fidelis.errors import ModelError
from fidelis.models.clv import fitting
from fidelis.models.clv.validation import as_column, check_finite, check_rows

TIME_UNITS = ("days", "weeks")
# Relative tolerance for recency <= T and recency == 0 when frequency == 0: summaries computed from
# timestamps in floating point differ from the exact values by a few ulps.
RECENCY_TOLERANCE = 1e-9
_Z_95 = 1.959963984540054
GROUPING_MIN_GAIN = 0.1  # group rows only when at least this share of the T values repeat

_REGISTRY: dict[str, type[ParametricModel]] = {}


class GroupedRepeats(NamedTuple):
    """Unique (frequency, recency, T) rows and how many customers share each (the fit's weights)."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray

    @property
    def n_customers(self) -> int:
        return int(self.weights.sum())

    def every(self, step: int) -> GroupedRepeats:
        """Every step-th row: a deterministic subsample for comparing starting points cheaply."""
        return GroupedRepeats(*(column[::step] for column in self))


@dataclass(frozen=True)
class RepeatData:
    """Validated repeat purchases `frequency` (x), `recency` (t_x) and age `T`: float64, one time unit."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    customer_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frequency)

    @classmethod
    def from_arrays(cls, frequency: Any, recency: Any, T: Any, customer_id: Any = None) -> RepeatData:
        """Validate and convert (scalars are broadcast); ModelError names the column and first bad row."""
        n = max(np.size(v) for v in (frequency, recency, T))
        columns = {name: as_column(values, name, n if np.ndim(values) == 0 else None)
                   for name, values in (("frequency", frequency), ("recency", recency), ("T", T))}
        ids = None if customer_id is None else np.asarray(customer_id, dtype=object).reshape(-1)
        _check_lengths(columns, ids)
        x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
        for name, array in columns.items():
            check_finite(array, name, ids)
        check_rows(x < 0, "frequency", "negative", ids)
        check_rows(x != np.round(x), "frequency", "not a whole number", ids)
        check_rows(age <= 0, "T", "not > 0", ids)
        tolerance = RECENCY_TOLERANCE * np.maximum(age, 1.0)
        check_rows(t_x < -tolerance, "recency", "negative", ids)
        check_rows(t_x > age + tolerance, "recency", "greater than T", ids)
        check_rows((x == 0) & (t_x > tolerance), "recency", "not 0 although frequency is 0", ids)
        t_x = np.where(x == 0, 0.0, np.clip(t_x, 0.0, age))
        return cls(np.round(x), t_x, age.copy(), ids)

    def grouped(self) -> GroupedRepeats:
        """Unique (x, t_x, T) rows with integer counts: the likelihood is evaluated once per row.

        Summaries by calendar day collapse to a few thousand rows; exact timestamps rarely repeat,
        so when every T is distinct (a cheap hash check) the rows are returned as they are.
        """
        if len(pd.unique(self.T)) == len(self.T):
            return self.rows()
        frame = pd.DataFrame({"x": self.frequency, "t_x": self.recency, "T": self.T})
        counts = frame.groupby(["x", "t_x", "T"], sort=False).size()
        keys = counts.index
        return GroupedRepeats(*(keys.get_level_values(i).to_numpy(np.float64) for i in range(3)),
                              counts.to_numpy(np.int64))

    def rows(self) -> GroupedRepeats:
        """Every row with weight 1 (the same likelihood as `grouped()`, without the grouping pass)."""
        return GroupedRepeats(self.frequency, self.recency, self.T, np.ones(len(self.T), np.int64))

    def fit_rows(self) -> GroupedRepeats:
        """`grouped()` when it can pay: unless at least GROUPING_MIN_GAIN of the T values repeat,
        grouping cannot remove enough rows to earn back its hashing pass."""
        distinct_T = len(pd.unique(self.T))
        if distinct_T > (1.0 - GROUPING_MIN_GAIN) * len(self.T):
            return self.rows()
        return self.grouped()


def _check_lengths(columns: dict[str, np.ndarray], ids: np.ndarray | None) -> None:
    sizes = {name: len(array) for name, array in columns.items()}
    if ids is not None:
        sizes["customer_id"] = len(ids)
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise ModelError(f"frequency, recency and T must have the same length, got {shown}")


@dataclass
class FitDiagnostics:
    """How the fit went: what a reviewer needs to trust (or not) the parameters."""

    converged: bool
    iterations: int
    starts_tried: int
    starts_converged: int
    message: str
    gradient_norm: float
    warnings: list[str] = field(default_factory=list)
    dropout_collapsed: bool = False
    fit_seconds: float = 0.0
    screen_rows: int = 0  # > 0: starts were compared on this many rows, the best refined on all

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitDiagnostics:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "warnings": list(known.get("warnings", []))})


@dataclass(frozen=True)
class _FitState:
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    diagnostics: FitDiagnostics
    time_unit: str | None = None


class ParametricModel(ABC):
    """A fitted-by-maximum-likelihood model: parameters, standard errors, summary, JSON persistence."""

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        self._state: _FitState | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    # --- fitted state -------------------------------------------------------------------------
    def _fitted(self) -> _FitState:
        if self._state is None:
            raise ModelError(f"{self.name}: the model is not fitted; call fit() or load() first")
        return self._state

    @property
    def is_fitted(self) -> bool:
        return self._state is not None

    @property
    def params(self) -> dict[str, float]:
        return dict(self._fitted().params)

    @property
    def standard_errors(self) -> dict[str, float]:
        return dict(self._fitted().standard_errors)

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood of the fitted data (summed over customers)."""
        return self._fitted().log_likelihood

    @property
    def n_customers(self) -> int:
        return self._fitted().n_customers

    @property
    def diagnostics(self) -> FitDiagnostics:
        return self._fitted().diagnostics

    def _param_array(self) -> np.ndarray:
        params = self._fitted().params
        return np.array([params[name] for name in self.param_names])

    def _fit_with(self, loglik: fitting.LogLikelihood, starts: list[np.ndarray], n_customers: int,
                  time_unit: str | None, started: float,
                  screen: tuple[fitting.LogLikelihood, int] | None = None) -> None:
        """Maximise, compute standard errors and diagnostics, and store the fitted state."""
        optimum = fitting.maximise(loglik, starts, n_customers, self.name, screen)
        free = ~(optimum.at_lower | optimum.at_upper)
        errors, se_notes = fitting.standard_errors(loglik, optimum.params, free, self.param_names)
        diagnostics = FitDiagnostics(
            converged=True, iterations=optimum.iterations, starts_tried=optimum.starts_tried,
            starts_converged=optimum.starts_converged, message=optimum.message,
            gradient_norm=optimum.gradient_norm, screen_rows=0 if screen is None else screen[1],
            warnings=fitting.bound_warnings(optimum, self.param_names) + se_notes)
        self._state = _FitState(
            params=dict(zip(self.param_names, map(float, optimum.params), strict=True)),
            standard_errors=dict(zip(self.param_names, map(float, errors), strict=True)),
            log_likelihood=float(optimum.log_likelihood), n_customers=n_customers,
            diagnostics=diagnostics, time_unit=time_unit)
        self._after_fit(diagnostics)
        diagnostics.fit_seconds = time.perf_counter() - started

    def _after_fit(self, diagnostics: FitDiagnostics) -> None:
        """Hook for model-specific checks of the estimates (e.g. BG/NBD's dropout collapse)."""

    # --- reporting and persistence ------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals.

        The intervals are Wald intervals on the log scale (estimate * exp(+-1.96 SE/estimate)), the
        scale the fit works on, so they stay positive like the parameters themselves.
        """
        state = self._fitted()
        rows = []
        for name in self.param_names:
            estimate, error = state.params[name], state.standard_errors[name]
            spread = math.exp(_Z_95 * error / estimate) if math.isfinite(error) else math.nan
            rows.append({"parameter": name, "estimate": estimate, "std_error": error,
                         "lower_95": estimate / spread, "upper_95": estimate * spread})
        return pd.DataFrame(rows, columns=["parameter", "estimate", "std_error", "lower_95", "upper_95"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; NaN becomes None so that the file is standard JSON."""
        state = self._fitted()
        return {
            "model": self.name,
            "fidelis_version": fidelis.__version__,
            "time_unit": state.time_unit,
            "params": state.params,
            "standard_errors": {k: _json_float(v) for k, v in state.standard_errors.items()},
            "log_likelihood": _json_float(state.log_likelihood),
            "n_customers": state.n_customers,
            "diagnostics": {k: _json_float(v) if isinstance(v, float) else v
                            for k, v in state.diagnostics.to_dict().items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a fitted model from `to_dict()` output; ModelError if it is for another model."""
        if data.get("model") != cls.name:
            raise ModelError(f"{cls.name}: the saved model is {data.get('model')!r}, not {cls.name!r}")
        params = _saved_params(data, cls.name, cls.param_names)
        time_unit = data.get("time_unit")
        if issubclass(cls, TransactionModel) and time_unit not in TIME_UNITS:
            raise ModelError(f"{cls.name}: saved time_unit {time_unit!r} is not one of {TIME_UNITS}")
        errors = data.get("standard_errors") or {}
        model = cls()
        model._state = _FitState(
            params=params,
            standard_errors={k: _from_json_float(errors.get(k)) for k in cls.param_names},
            log_likelihood=_from_json_float(data.get("log_likelihood")),
            n_customers=int(data.get("n_customers") or 0),
            diagnostics=FitDiagnostics.from_dict(_diagnostics_dict(data.get("diagnostics"))),
            time_unit=time_unit)
        return model

    def save(self, path: str | Path) -> Path:
        """Write the fitted model as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls.from_dict(_read_json(path))

    def __repr__(self) -> str:
        if self._state is None:
            return f"{type(self).__name__}(unfitted)"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self._state.params.items())
        return f"{type(self).__name__}({shown})"


def _json_float(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _from_json_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _diagnostics_dict(data: Any) -> dict[str, Any]:
    defaults = {"converged": False, "iterations": 0, "starts_tried": 0, "starts_converged": 0,
                "message": "", "gradient_norm": math.nan}
    merged = {**defaults, **(data or {})}
    merged["gradient_norm"] = _from_json_float(merged["gradient_norm"])
    return merged


def _saved_params(data: dict[str, Any], model: str, names: tuple[str, ...]) -> dict[str, float]:
    saved = data.get("params") or {}
    params = {}
    for name in names:
        try:
            value = float(saved[name])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{model}: saved parameter {name!r} is missing or not a number") from None
        if not (math.isfinite(value) and value > 0):
            raise ModelError(f"{model}: saved parameter {name!r} must be finite and > 0, got {value}")
        params[name] = value
    return params


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"cannot read a saved model from {path}: {error}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a saved model (expected a JSON object)")
    return data


def single_threaded_blas() -> threadpool_limits:
    """The fits' dot products are short; threaded BLAS only adds contention (10-100x slower dots on a
    busy machine), so BLAS runs on one thread for the duration of a fit."""
    return threadpool_limits(limits=1, user_api="blas")


def load_model(path_or_dict: str | Path | dict[str, Any]) -> ParametricModel:
    """Load any saved CLV model, choosing the class from the saved model name."""
    data = path_or_dict if isinstance(path_or_dict, dict) else _read_json(path_or_dict)
    name = data.get("model")
    if name not in _REGISTRY:
        raise ModelError(f"unknown saved model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name].from_dict(data)


class TransactionModel(ParametricModel):
    """A purchase-count model (BG/NBD, Pareto/NBD) fitted to (x, t_x, T) rows.

    Subclasses give the log-likelihood with analytic gradient on grouped rows, starting points and
    the predictions. Predictions take times in the unit of the fitted data (`time_unit`).
    """

    min_customers: ClassVar[int] = 20
    # Above twice this many rows, the starts are compared on a deterministic subsample of about this
    # many rows and only the best is refined on all (see fitting.maximise).
    screen_rows: ClassVar[int] = 50_000

    @property
    def time_unit(self) -> str:
        return self._fitted().time_unit  # type: ignore[return-value]

    def fit(self, frequency: Any, recency: Any, T: Any, *, time_unit: str = "days",
            customer_id: Any = None) -> Self:
        """Fit by maximum likelihood; ModelError on bad input, too few customers or no convergence.

        Needs at least `min_customers` customers and one repeat buyer. Times are in `time_unit`
        ("days" or "weeks"), which the model records: predictions take t in the same unit.
        """
        started = time.perf_counter()
        if time_unit not in TIME_UNITS:
            raise ModelError(f"{self.name}: time_unit must be one of {TIME_UNITS}, got {time_unit!r}")
        data = RepeatData.from_arrays(frequency, recency, T, customer_id)
        self._check_fit_data(data)
        grouped = data.fit_rows()
        with single_threaded_blas():
            loglik = self._loglik_function(grouped)
            self._fit_with(loglik, self._starts(grouped), len(data), time_unit, started,
                           self._screen(grouped))
        return self

    def _screen(self, grouped: GroupedRepeats) -> tuple[fitting.LogLikelihood, int] | None:
        """A subsample of about `screen_rows` rows to compare the starts on, when the data are large."""
        if len(grouped.weights) < 2 * self.screen_rows:
            return None
        sample = grouped.every(math.ceil(len(grouped.weights) / self.screen_rows))
        return self._loglik_function(sample), sample.n_customers

    def _check_fit_data(self, data: RepeatData) -> None:
        """Refuse data that cannot identify the parameters."""
        if len(data) < self.min_customers:
            raise ModelError(f"{self.name}: needs at least {self.min_customers} customers to fit, "
                             f"got {len(data)}")
        if not np.any(data.frequency > 0):
            raise ModelError(f"{self.name}: no customer has a repeat purchase (all frequency == 0), "
                             "so the purchase and dropout rates cannot be told apart")

    def _data(self, frequency: Any, recency: Any, T: Any) -> RepeatData:
        self._fitted()
        return RepeatData.from_arrays(frequency, recency, T)

    def log_likelihood_of(self, frequency: Any, recency: Any, T: Any) -> float:
        """Total log-likelihood of other data at the fitted parameters (e.g. a holdout sample)."""
        grouped = self._data(frequency, recency, T).grouped()
        return float(self._loglik_function(grouped)(self._param_array())[0])

    @abstractmethod
    def _loglik_function(self, grouped: GroupedRepeats) -> fitting.LogLikelihood:
        """Natural parameters -> (total log-likelihood, gradient) on these weighted rows."""

    @abstractmethod
    def _starts(self, grouped: GroupedRepeats) -> list[np.ndarray]:
        """Deterministic starting points (natural parameters) scaled to the data."""

    @abstractmethod
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(the customer is still active at T | x, t_x, T)."""

    @abstractmethod
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T]."""

    @abstractmethod
    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """E[purchases in (0, t]] for a customer who has just made a first purchase."""

    @abstractmethod
    def p_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T)."""


def mean_rate(grouped: GroupedRepeats) -> float:
    """Repeat purchases per unit of time over all customers: the scale for starting rates."""
    total_x = float(grouped.weights @ grouped.frequency)
    total_t = float(grouped.weights @ grouped.T)
    return max(total_x, 1.0) / max(total_t, 1e-12)
