"""The analytics inputs: the warehouse tables as Ibis expressions, cut at one as-of instant.

Everything in `fidelis.analytics` is an Ibis expression over these tables, so the same code runs
on DuckDB (the embedded default) and on Spark (`ibis.pyspark`). Which orders count is decided here
once, for every metric:

- a *purchase* is a sale of a known customer (guests cannot be followed over time), placed before
  the as-of instant, that cancellations linked to it do not cancel in full;
- a *refund* is a return or cancellation document of a known customer before the as-of instant,
  except those that cancel a purchase in full (that sale and its cancellations are left out
  together, as if the order never happened).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from fidelis.errors import NoDataError

Dimension = Literal["market", "country", "channel"]
DIMENSIONS: tuple[Dimension, ...] = ("market", "country", "channel")
UNKNOWN_GROUP = "unknown"
ALL_GROUP = "all"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class AnalyticsInputs:
    """The warehouse tables and the instant (exclusive, UTC) that analytics look up to.

    The data cover `data_start` (the first order's instant) to `data_end` (midnight after the last
    order's day, or the as-of instant if earlier): a period that begins before the first order's
    day or ends after `data_end` is not covered in full, so it is not `complete` (a first quarter
    that holds only its last month; months after the last export under a far as-of date).
    """

    orders: ir.Table
    customers: ir.Table
    feedback: ir.Table
    as_of: datetime
    reporting_currency: str
    data_start: datetime | None = None
    data_end: datetime | None = None
    prepared: dict[str, ir.Table] = field(default_factory=dict, compare=False, repr=False)

    def release(self) -> None:
        """Drop the temporary tables of `prepared` inputs (before the connection closes)."""
        for table in {id(table): table for table in self.prepared.values()}.values():
            table.release()
        self.prepared.clear()

    def __enter__(self) -> AnalyticsInputs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    @property
    def as_of_epoch_seconds(self) -> int:
        return int(self.as_of.timestamp())

    @property
    def observation_end_day(self) -> date:
        """The last calendar day (UTC) inside the window: the day before a midnight as-of."""
        return (self.as_of - timedelta(microseconds=1)).date()


def inputs_from_backend(backend, *, reporting_currency: str, as_of: datetime | date | None = None,
                        prepare: bool = False) -> AnalyticsInputs:
    """Bind the warehouse tables of an Ibis backend; default as-of: midnight after the last order's day.

    With `prepare`, purchases (in sequence), refunds and the feedback window are computed once into
    temporary tables of the backend (Ibis `cache`): the many KPI and cohort aggregates of a report
    then read them instead of recompiling and re-running the same windows and anti-joins. A single
    query (the customer summary alone) is faster without. Release prepared inputs before the
    connection closes: `with inputs_from_backend(...) as inputs:` does.
    """
    orders = backend.table("orders")
    span = orders.aggregate(first=orders.ordered_at.min(), latest=orders.ordered_at.max()).to_pandas().iloc[0]
    if pd.isna(span["latest"]):
        raise NoDataError("the warehouse has no orders yet; load some with `fidelis ingest`")
    first, latest = _as_utc(span["first"].to_pydatetime()), _as_utc(span["latest"].to_pydatetime())
    cutoff = _as_of_instant(as_of) if as_of is not None else _midnight_after(latest)
    last_day = (cutoff - timedelta(microseconds=1)).date()
    if cutoff <= first:
        raise NoDataError(f"no orders up to the as-of date {last_day:%Y-%m-%d} "
                          f"(the first order is on {first:%Y-%m-%d})")
    inputs = AnalyticsInputs(orders=orders, customers=backend.table("customers"), feedback=backend.table("feedback"),
                             as_of=cutoff, reporting_currency=reporting_currency, data_start=first,
                             data_end=min(cutoff, _midnight_after(latest)))
    if purchases(inputs).count().to_pandas() == 0:
        raise NoDataError(f"no purchase by a known customer up to {last_day:%Y-%m-%d}: the orders are guest "
                          "orders, returns or cancellations, which give no customer figures")
    return prepared(inputs) if prepare else inputs


def prepared(inputs: AnalyticsInputs) -> AnalyticsInputs:
    """The same inputs with purchases (in sequence), refunds, feedback and each customer's first
    purchases as temporary tables."""
    sequence = purchase_sequence(inputs).cache()
    tables = {"purchase_sequence": sequence, "purchases": sequence, "refunds": refunds(inputs).cache(),
              "feedback": feedback_before_as_of(inputs).cache()}
    with_sequence = replace(inputs, prepared=tables)
    tables["customer_firsts"] = customer_firsts(with_sequence).cache()
    return with_sequence


def _as_of_instant(value: datetime | date) -> datetime:
    """A date means the end of that day: midnight after it, UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value + timedelta(days=1), time(), tzinfo=UTC)


def _midnight_after(moment: datetime) -> datetime:
    return datetime.combine(_as_utc(moment).date() + timedelta(days=1), time(), tzinfo=UTC)


def _as_utc(moment: datetime) -> datetime:
    """Backends return instants with a UTC zone (DuckDB) or as naive UTC clock times (Spark)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


#: The order columns analytics read: a prepared copy of 4 million purchases stays narrow.
ORDER_COLUMNS = ("order_id", "order_kind", "original_order_id", "customer_id", "ordered_at", "market",
                 "country_code", "channel", "amount", "amount_reporting")
FEEDBACK_COLUMNS = ("feedback_id", "customer_id", "order_id", "submitted_at", "rating", "rating_scale_max",
                    "nps", "csat")


def _before_as_of(inputs: AnalyticsInputs) -> ir.Table:
    orders = inputs.orders
    return orders.filter(orders.ordered_at < ibis.literal(inputs.as_of),
                         orders.customer_id.notnull()).select(*ORDER_COLUMNS)


def voided_sales(inputs: AnalyticsInputs) -> ir.Table:
    """Sales whose linked cancellations (before as-of) cancel their whole amount: one column, order_id."""
    orders = _before_as_of(inputs)
    cancelled = (
        orders.filter(orders.order_kind == "cancellation", orders.original_order_id.notnull())
        .group_by(sale_id=orders.original_order_id)
        .aggregate(cancelled_amount=orders.amount.sum())
    )
    sales = orders.filter(orders.order_kind == "sale")
    joined = sales.join(cancelled, sales.order_id == cancelled.sale_id)
    return joined.filter(joined.amount + joined.cancelled_amount <= 0).select("order_id")


def purchases(inputs: AnalyticsInputs) -> ir.Table:
    """Counted purchases: sales of known customers before the as-of instant, voided ones left out."""
    if "purchases" in inputs.prepared:
        return inputs.prepared["purchases"]
    orders = _before_as_of(inputs)
    return orders.filter(orders.order_kind == "sale").anti_join(voided_sales(inputs), "order_id")


def purchase_sequence(inputs: AnalyticsInputs) -> ir.Table:
    """Purchases with their place in the customer's history (`purchase_number`, from 1) and the
    instant of the customer's previous purchase; ties in time are ordered by order id."""
    if "purchase_sequence" in inputs.prepared:
        return inputs.prepared["purchase_sequence"]
    bought = purchases(inputs)
    by_customer = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    return bought.mutate(
        purchase_number=ibis.row_number().over(by_customer) + 1,
        previous_purchase_at=bought.ordered_at.lag().over(by_customer),
    )


def customer_firsts(inputs: AnalyticsInputs) -> ir.Table:
    """Per customer, the instants of the first and the second purchase (None for one-time buyers):
    what makes a customer new, and repeat, in a period, whichever grouping is asked for."""
    if "customer_firsts" in inputs.prepared:
        return inputs.prepared["customer_firsts"]
    sequence = purchase_sequence(inputs)
    return sequence.group_by("customer_id").aggregate(
        first_purchase_at=sequence.ordered_at.min(),
        second_purchase_at=sequence.ordered_at.min(where=sequence.purchase_number == 2),
    )


def first_in_time(value: ir.Column, orders: ir.Table) -> ir.Scalar:
    """`value` of the earliest order (ties in time: the lowest order id), as an aggregate.

    A minimum over a (time, id) key rather than a window or an ordered `first`: both backends
    compute it in the same pass as the other per-customer sums.
    """
    return value.argmin(ibis.struct({"ordered_at": orders.ordered_at, "order_id": orders.order_id}))


def refunds(inputs: AnalyticsInputs) -> ir.Table:
    """Return and cancellation documents that count (not those of a voided sale)."""
    if "refunds" in inputs.prepared:
        return inputs.prepared["refunds"]
    orders = _before_as_of(inputs)
    documents = orders.filter(orders.order_kind.isin(["return", "cancellation"]))
    voided = voided_sales(inputs).rename(voided_id="order_id")
    return documents.anti_join(voided, documents.original_order_id == voided.voided_id)


def feedback_before_as_of(inputs: AnalyticsInputs) -> ir.Table:
    if "feedback" in inputs.prepared:
        return inputs.prepared["feedback"]
    feedback = inputs.feedback
    return feedback.filter(feedback.submitted_at < ibis.literal(inputs.as_of)).select(*FEEDBACK_COLUMNS)


def group_of_order(orders: ir.Table, by: Dimension | None) -> ir.Value:
    """The group an order counts in: the market, country or channel written on the order."""
    if by is None:
        return ibis.literal(ALL_GROUP)
    column = {"market": orders.market, "country": orders.country_code, "channel": orders.channel}[by]
    return column.fill_null(UNKNOWN_GROUP)


def epoch_days(value: ir.TimestampValue) -> ir.FloatingValue:
    """An instant as fractional days since 1970-01-01 UTC (second resolution)."""
    return value.epoch_seconds().cast("float64") / SECONDS_PER_DAY


def day_number(value: ir.TimestampValue) -> ir.IntegerValue:
    """The UTC calendar day of an instant, as whole days since 1970-01-01."""
    return (value.epoch_seconds() / SECONDS_PER_DAY).floor().cast("int64")
