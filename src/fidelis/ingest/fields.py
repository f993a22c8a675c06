"""The canonical staging fields every source layout maps its columns onto.

Kept apart from `sources` so that modules the layouts import (the mapping file model) can use them
without importing the layouts themselves.
"""

# Canonical text fields a source of orders provides (NULL when the layout lacks them).
ORDER_FIELDS = (
    "source_order_id",
    "order_kind",          # sale | return | cancellation (NULL: a value the mapping does not know)
    "order_kind_raw",      # the value as written, for the error message when unknown
    "source_original_order_id",
    "ordered_at",
    "source_customer_id",
    "email",
    "phone",
    "customer_name",
    "country",
    "currency",
    "sku",
    "description",
    "category",
    "quantity",
    "unit_price",
    "line_amount",
    "channel",
)

FEEDBACK_FIELDS = (
    "source_feedback_id",
    "source_customer_id",
    "email",
    "source_order_id",
    "submitted_at",
    "rating",
    "nps",
    "csat",
    "text",
    "language",
    "channel",
)

FIELDS_BY_DATASET: dict[str, tuple[str, ...]] = {"orders": ORDER_FIELDS, "feedback": FEEDBACK_FIELDS}
