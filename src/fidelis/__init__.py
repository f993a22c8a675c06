"""Fidelis: loyalty and retention analytics and programme engine for cross-border sellers."""

__version__ = "0.1.0"
