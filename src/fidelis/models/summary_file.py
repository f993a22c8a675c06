"""Fitting on a summary file instead of a warehouse: the papers' data sets, other tools' summaries.

`fidelis clv fit --summary FILE` reads `frequency, recency, T` (or the papers' `x, t_x, T`) and an
optional mean spend column, validates it with errors that name the file and the spreadsheet row,
and fits; nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fidelis.errors import InputError, ModelError
from fidelis.models.clv import TRANSACTION_MODELS, GammaGammaModel, TransactionModel


def read_summary_file(path: Path) -> pd.DataFrame:
    """A summary CSV: `frequency, recency, T` (or the papers' `x, t_x, T`), and optionally a mean spend
    column (`monetary_value` or `zbar`). Returns columns frequency, recency, T[, monetary_value]."""
    if not path.is_file():
        raise InputError(f"--summary: {path} does not exist or is not a file")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"--summary: {path} is not a readable CSV file: {exc}") from None
    if frame.empty:
        raise InputError(f"--summary: {path} has a header but no rows")
    frame = frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    missing = [name for name in ("frequency", "recency", "T") if name not in frame.columns]
    if missing:
        raise InputError(f"--summary: {path} has no column {', '.join(repr(m) for m in missing)} "
                         "(expected frequency, recency, T or x, t_x, T)")
    for column in ("frequency", "recency", "T", "monetary_value"):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            bad = np.flatnonzero((pd.to_numeric(frame[column], errors="coerce").isna()
                                  & frame[column].notna()).to_numpy())
            if len(bad):
                raise InputError(f"--summary: {path}, row {bad[0] + 2}, column '{column}': "
                                 f"'{frame[column].iloc[bad[0]]}' is not a number")
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    keep = [c for c in ("frequency", "recency", "T", "monetary_value") if c in frame.columns]
    return frame[keep]


def fit_summary_file(path: Path, *, model_name: str, time_unit: str) -> tuple[TransactionModel, GammaGammaModel | None]:
    """Fit on a summary CSV (no warehouse): the purchase model, and the spend model when spend is given.

    A model's complaint about a value names the file and the spreadsheet row (the header is row 1).
    """
    frame = read_summary_file(path)
    rows = np.arange(len(frame)) + 2
    try:
        model = TRANSACTION_MODELS[model_name]().fit(
            frame["frequency"].to_numpy(float), frame["recency"].to_numpy(float), frame["T"].to_numpy(float),
            time_unit=time_unit, customer_id=rows)
        spend = None
        if "monetary_value" in frame.columns:
            repeat = frame["frequency"].to_numpy(float) > 0
            spend = GammaGammaModel().fit(frame["frequency"].to_numpy(float)[repeat],
                                          frame["monetary_value"].to_numpy(float)[repeat], customer_id=rows[repeat])
    except ModelError as exc:
        message = str(exc).replace("(customer ", "(spreadsheet row ")
        raise ModelError(f"--summary: {path}: {message}") from None
    return model, spend
