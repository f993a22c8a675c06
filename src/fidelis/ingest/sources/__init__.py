"""Source layouts. Each module maps one kind of export onto the canonical staging fields.

To add a layout: write a module with a `SOURCE` object satisfying `base.Source` and add it to
`REGISTRY` below. Detection tries the layouts in order; the first whose `detect` accepts the
header wins, so put specific layouts before permissive ones.
"""

from __future__ import annotations

from fidelis.ingest.sources.base import Source, SourceOptions, Staging
from fidelis.ingest.sources.feedback import SOURCE as FEEDBACK
from fidelis.ingest.sources.generic import SOURCE as GENERIC
from fidelis.ingest.sources.online_retail import SOURCE as ONLINE_RETAIL
from fidelis.ingest.sources.shopify import SOURCE as SHOPIFY

REGISTRY: dict[str, Source] = {s.name: s for s in (ONLINE_RETAIL, SHOPIFY, FEEDBACK, GENERIC)}

__all__ = ["REGISTRY", "Source", "SourceOptions", "Staging"]
