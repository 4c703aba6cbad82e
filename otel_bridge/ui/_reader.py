"""RunReader: what the UI's query routes read, from a collector's store or from a span source.

Three methods in the manner of the sources' interface: a page of trace summaries for an
``/api/traces`` query, one summary, one derived run. ``StoreReader`` answers them from the
collector's store (the same code as the collector's own query API); ``SourceReader``
(``_source_reader``) from any ``SpanSource``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from ..collector import (
    LiveTraces,
    RunCache,
    RunLimits,
    SpanStore,
    run_body,
    trace_page,
)

__all__ = ["RunReader", "StoreReader", "run_facts"]


class RunReader(Protocol):
    """Trace summaries (the ``/api/traces`` form) and derived runs (RunTrace JSON)."""

    def traces(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``{"traces": [summary, ...], "next_cursor"}`` for ``/api/traces`` parameters;
        BadParameter (a ValueError) for a bad one."""
        ...

    def summary(self, trace_id: str) -> dict[str, Any] | None:
        """One trace's summary, or None when there is no such trace."""
        ...

    def run(self, trace_id: str) -> dict[str, Any] | None:
        """The trace's RunTrace JSON, or None; RunTooLarge or SpanFormatError when it cannot
        be derived."""
        ...


class StoreReader:
    """A ``RunReader`` over the collector's store (its runs derived once, then cached)."""

    def __init__(
        self, store: SpanStore, runs: RunCache, live: LiveTraces, limits: RunLimits
    ) -> None:
        self.store, self.runs, self.live, self.limits = store, runs, live, limits

    def traces(self, query: Mapping[str, str]) -> dict[str, Any]:
        """See ``RunReader.traces``."""
        return trace_page(self.store, self.live, query)

    def summary(self, trace_id: str) -> dict[str, Any] | None:
        """See ``RunReader.summary``."""
        found = self.store.trace(trace_id)
        return None if found is None else self.live.to_dict(found)

    def run(self, trace_id: str) -> dict[str, Any] | None:
        """See ``RunReader.run``."""
        body = run_body(self.store, self.runs, self.limits, trace_id)
        return None if body is None else json.loads(body)


def run_facts(run: Mapping[str, Any]) -> dict[str, Any]:
    """A summary's ``run`` (agents, tokens, cost) from a RunTrace JSON object."""
    usage = run.get("usage") or {}
    cost = run.get("cost") or {}
    return {
        "agents": list(run.get("agents") or ()),
        "total_tokens": usage.get("total_tokens"),
        "tokens_complete": usage.get("complete"),
        "cost_usd": cost.get("total_usd") if cost.get("complete") else None,
    }
