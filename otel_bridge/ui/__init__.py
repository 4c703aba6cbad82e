"""The web UI: pages and the query API they read, on the collector or over any span source.

``collector_ui`` is the collector's ``extension``: it adds to the collector's HTTP app the
pages, their assets and the login form (``_pages``), the routes the pages read beside the
collector's own query API (``_api``: a session, a run's report, diff, compare, over a
``RunReader``) and the live event stream (``_events``). ``source_app`` serves the same UI
read-only over any ``SpanSource`` (``otel-bridge ui SOURCE``).
"""

from __future__ import annotations

from ..collector import (
    AppParts,
    CollectorConfig,
    LiveTraces,
    RunCache,
    RunLimits,
    SpanStore,
)
from ._api import api_routes, session_json
from ._events import Feed, StillFeed, events_route, new_server_id
from ._export_reader import ExportReader
from ._pages import PUBLIC_PATHS, is_page, not_found, page_routes
from ._reader import RunReader, StoreReader
from ._source_app import SourceUI, source_app
from ._source_reader import SourceReader

__all__ = [
    "ExportReader",
    "Feed",
    "RunReader",
    "SourceReader",
    "SourceUI",
    "StillFeed",
    "StoreReader",
    "collector_ui",
    "session_json",
    "source_app",
]


def collector_ui(
    store: SpanStore, runs: RunCache, live: LiveTraces, config: CollectorConfig
) -> AppParts:
    """The web UI on the collector's HTTP port (``Collector(extension=collector_ui)``)."""
    reader = StoreReader(store, runs, live, RunLimits(config.max_run_spans, config.max_run_depth))
    routes = [
        events_route(new_server_id(), live, live=True),
        *api_routes(reader),
        *page_routes(config.token),
    ]
    return AppParts(routes, PUBLIC_PATHS, is_page, not_found)
