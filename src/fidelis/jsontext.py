"""JSON that every parser accepts: no NaN or Infinity (they are not JSON), no numpy scalars.

Shared by the `--json` output of the commands and the JSON stored in the warehouse (model cards):
a model's standard error can be NaN (a flat optimum), which must reach a reader as null. Other
types (dates, decimals) are left to the caller's `default=`.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities as None and numpy scalars as Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
