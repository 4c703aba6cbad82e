"""The web UI: pages served by the collector (``collector_ui``) or over any span source.

``collector_ui`` is the collector's ``extension``: it adds the pages, their assets and the
login form (``_pages``) to the collector's HTTP app, beside the query API the pages read.
"""

from __future__ import annotations

from ..collector import AppParts, CollectorConfig, LiveTraces, RunCache, SpanStore
from ._pages import PUBLIC_PATHS, is_page, page_routes

__all__ = ["collector_ui"]


def collector_ui(
    store: SpanStore, runs: RunCache, live: LiveTraces, config: CollectorConfig
) -> AppParts:
    """The web UI on the collector's HTTP port (``Collector(extension=collector_ui)``)."""
    return AppParts(page_routes(config.token), PUBLIC_PATHS, is_page)
