"""Spans -> RunTrace, pure: no I/O, no SDK types, only ``SpanRecord``s in.

``derive``/``derive_all`` build RunTraces (``_derive``), from the conversation merged out of
every call's re-sent history (``_messages``) and the run's totals: handoffs, timings as
interval unions, per-agent and per-model usage (``_rollup``).
"""

from __future__ import annotations

from ._derive import derive, derive_all
from ._messages import merge_conversation

__all__ = ["derive", "derive_all", "merge_conversation"]
