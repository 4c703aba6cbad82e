"""Spans -> RunTrace, pure: no I/O, no SDK types, only ``SpanRecord``s in.

``derive``/``derive_all`` build RunTraces (``_derive``) from the model and tool calls read off
the spans once per trace (``_calls``), the conversation merged out of every call's re-sent
history (``_messages``) and the run's totals: handoffs, timings as interval unions, per-agent
and per-model usage (``_rollup``) and the money cost of every call from genai-prices or a
user's price table (``_cost``).
"""

from __future__ import annotations

from ._cost import (
    ModelPrice,
    PriceTable,
    check_price_table,
    parse_price_table,
    preload_prices,
)
from ._derive import derive, derive_all
from ._messages import merge_conversation

__all__ = [
    "ModelPrice",
    "PriceTable",
    "check_price_table",
    "derive",
    "derive_all",
    "merge_conversation",
    "parse_price_table",
    "preload_prices",
]
