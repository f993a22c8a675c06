"""Model cards and scores in the warehouse (tables described in docs/data-model.md).

A card records what a fitted model is (name, parameters, metrics, diagnostics, the data window
it saw, the Fidelis version, the serialised model) so that scores can always be traced to the
model that made them. Scoring runs append; nothing here updates or deletes a stored row.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

import fidelis
from fidelis.jsontext import json_safe


@dataclass(frozen=True)
class ModelCard:
    """One fitted or trained model, as stored in `model_cards`."""

    model_id: str
    kind: str  # clv | churn
    model_name: str
    created_at: datetime
    as_of: datetime
    data_start: datetime | None
    data_end: datetime | None
    customers: int
    card: dict[str, Any]
    fidelis_version: str = fidelis.__version__

    def public(self) -> dict[str, Any]:
        """The card without the serialised model: what `--json` output and the report show."""
        body = {key: value for key, value in self.card.items() if key != "model"}
        return {"model_id": self.model_id, "kind": self.kind, "model_name": self.model_name,
                "created_at": self.created_at.isoformat(), "as_of": self.as_of.isoformat(),
                "data_start": _iso(self.data_start), "data_end": _iso(self.data_end),
                "customers": self.customers, "fidelis_version": self.fidelis_version, **body}


def new_id(kind: str) -> str:
    """A sortable, unique id: kind, UTC time to the second, and a random suffix."""
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def save_card(con: duckdb.DuckDBPyConnection, card: ModelCard) -> None:
    con.execute(
        "INSERT INTO model_cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [card.model_id, card.kind, card.model_name, card.created_at, card.as_of, card.data_start, card.data_end,
         card.customers, card.fidelis_version, json.dumps(json_safe(card.card), default=str)],
    )


def latest_card(con: duckdb.DuckDBPyConnection, kind: str, *, as_of: datetime) -> ModelCard | None:
    """The most recently created card of a kind (clv or churn) whose data end by `as_of`, or None.

    A model fitted on later data must not score an earlier as-of: it would carry the future into
    a back-test.
    """
    row = con.execute(
        "SELECT model_id, kind, model_name, created_at, as_of, data_start, data_end, customers, card, "
        "fidelis_version FROM model_cards WHERE kind = ? AND as_of <= ? "
        "ORDER BY created_at DESC, model_id DESC LIMIT 1", [kind, as_of]).fetchone()
    if row is None:
        return None
    model_id, kind, name, created_at, as_of, start, end, customers, body, version = row
    return ModelCard(model_id, kind, name, _utc(created_at), _utc(as_of), _utc(start), _utc(end), customers,
                     json.loads(body), version)


def save_run(con: duckdb.DuckDBPyConnection, *, run_id: str, kind: str, model_id: str, as_of: datetime,
             horizon_days: int, customers: int) -> None:
    con.execute("INSERT INTO score_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, kind, model_id, datetime.now(UTC), as_of, horizon_days, customers])


def previous_run(con: duckdb.DuckDBPyConnection, kind: str, *, as_of: datetime) -> str | None:
    """The run to compare a new one at `as_of` with: the latest as-of up to it, the latest scored among those.

    Ordered by as-of first, so that a back-test scored today at an old date is not taken for the
    previous run of the regular scoring.
    """
    row = con.execute("SELECT run_id FROM score_runs WHERE kind = ? AND as_of <= ? "
                      "ORDER BY as_of DESC, scored_at DESC, run_id DESC LIMIT 1", [kind, as_of]).fetchone()
    return row[0] if row else None


def append_rows(con: duckdb.DuckDBPyConnection, table: str, run_id: str, frame: pd.DataFrame,
                columns: list[str]) -> None:
    """Insert a frame's `columns` (in the table's order after run_id) under `run_id`."""
    arrow = pa.Table.from_pandas(frame[columns], preserve_index=False)
    con.register("_fidelis_rows", arrow)
    try:
        con.execute(f"INSERT INTO {table} SELECT ?, {', '.join(columns)} FROM _fidelis_rows", [run_id])
    finally:
        con.unregister("_fidelis_rows")


def run_rows(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> pd.DataFrame:
    return con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY customer_id",
                       [run_id]).df()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
