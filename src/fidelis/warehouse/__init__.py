"""The DuckDB warehouse: connection factory, schema and its migrations."""

from fidelis.warehouse.connection import Warehouse, open_warehouse, warehouse_session

__all__ = ["Warehouse", "open_warehouse", "warehouse_session"]
