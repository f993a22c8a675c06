"""Ingest: read seller exports, map them onto the canonical model, normalise, validate, load.

Public entry points live in `fidelis.ingest.service`.
"""
