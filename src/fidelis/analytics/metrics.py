"""The names of the KPIs and their kinds, shared by the computations, the analytics file and the report.

Kept apart from `kpis.py` so that the analytics file can check a target's metric, and the report
choose a format, without importing the computations.
"""

from __future__ import annotations

from typing import Literal

Period = Literal["month", "quarter", "year"]

#: Shares between 0 and 1 (return_rate_orders can exceed 1).
RATE_METRICS = (
    "repeat_purchase_rate", "retention_rate", "active_rate", "return_rate_orders", "return_rate_value",
    "complaint_rate", "csat",
)
#: Amounts in the reporting currency, `Decimal` to the cent.
MONEY_METRICS = ("sales_value", "refunds_value", "net_revenue", "aov", "clv_historical")
#: Other real numbers: orders per customer, days, NPS (-100..100), the 0-100 index.
OTHER_METRICS = ("purchase_frequency", "avg_inter_purchase_days", "nps", "loyalty_index")
FLOAT_METRICS = RATE_METRICS + OTHER_METRICS
#: Whole numbers of customers, orders, documents or answers.
COUNT_METRICS = (
    "customer_base", "customers_active", "customers_new", "customers_repeat", "customers_retained", "orders",
    "refund_documents", "feedback_responses", "nps_responses", "csat_responses", "complaints",
)
TARGETABLE_METRICS = RATE_METRICS + MONEY_METRICS + OTHER_METRICS + (
    "customers_active", "customers_new", "orders", "customer_base")
#: Columns that get `<name>_previous` and `<name>_change` (value minus the previous period's).
CHANGE_METRICS = (
    "customers_active", "customers_new", "orders", "net_revenue", "aov", "purchase_frequency",
    "repeat_purchase_rate", "retention_rate", "active_rate", "clv_historical", "return_rate_orders",
    "return_rate_value", "complaint_rate", "nps", "csat", "avg_inter_purchase_days", "loyalty_index",
)
