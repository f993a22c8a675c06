"""Customers: identity lookups and explanations over the warehouse."""
