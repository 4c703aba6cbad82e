"""A model priced per request as well as per token (Perplexity's sonar: USD 1 per million input
and output tokens, USD 12 per thousand requests): each call pays its request once."""

from __future__ import annotations

from decimal import Decimal

from openinference.semconv.trace import SpanAttributes
from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, assistant, user

from otel_bridge import Cost, derive

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def test_a_per_request_price_is_paid_once_per_call_whatever_its_tokens() -> None:
    b = TraceBuilder()
    root = b.root()
    step = b.step(root, "searcher", 1, 50)
    sonar = {SpanAttributes.LLM_MODEL_NAME: "sonar", SpanAttributes.LLM_PROVIDER: "perplexity"}
    for start, usage in [(2, (1000, 100)), (21, (3000, 500))]:
        b.llm(step, start, start + 18, [user("Search.")], [assistant("Found.")], usage, extra=sonar)
    calls = derive(b.spans).llm_calls
    # 1000 in + 100 out at 1 per million, + 0.012 for the request; 3000 + 500, + 0.012
    assert [c.cost for c in calls] == [
        Cost(total_usd=Decimal("0.0131"), input_usd=Decimal("0.001"), output_usd=Decimal("0.0001")),
        Cost(total_usd=Decimal("0.0155"), input_usd=Decimal("0.003"), output_usd=Decimal("0.0005")),
    ]
