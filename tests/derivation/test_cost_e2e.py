"""Cost end to end: real LlamaIndex agents against the scripted model, and MASEval's cost fields.

The scripted server's log is the ground truth for tokens; the expected dollars are worked out
by hand from it and gpt-4o-mini's published prices (USD per million tokens: input 0.15, cached
input 0.075, output 0.6).
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from maseval.core.usage import StaticPricingCalculator
from support.adapter_fixtures import (
    calc_agent,
    calc_replies,
    demo,
    demo_workflow,
    module_telemetry,
    scripted_server,
    server,
)
from support.runs import traced_run
from support.scenarios import add

from otel_bridge import ModelPrice, Telemetry
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)

__all__ = ["module_telemetry", "scripted_server", "server"]  # fixtures, imported for pytest


async def test_a_function_agent_run_costs_what_its_tokens_cost(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    server.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("add", {"a": 2, "b": 3})],
                usage=Usage(120, 30, cached=64, reasoning=7),
            ),
            Reply(content="5.", usage=Usage(180, 12)),
        ]
    )
    agent = FunctionAgent(
        name="calc",
        system_prompt="You add.",
        tools=[add],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    _, trace = await traced_run(module_telemetry, lambda: agent.run(user_msg="2+3?"))

    truth = server.usage_sent_total()
    assert (truth.prompt, truth.completion, truth.cached) == (300, 42, 64)
    # call 1: 56 fresh x 0.15 + 64 cached x 0.075 + 30 out x 0.6 = 8.4 + 4.8 + 18 = 31.2 u$
    # call 2: 180 x 0.15 + 12 x 0.6 = 27 + 7.2 = 34.2 u$ (reasoning is output: no extra)
    assert [c.cost.to_dict()["total_usd"] for c in trace.llm_calls] == [0.0000312, 0.0000342]
    assert trace.to_dict()["cost"] == {
        "total_usd": 0.0000654,
        "input_usd": 0.0000402,
        "output_usd": 0.0000252,
        "complete": True,
        "unpriced_calls": 0,
    }
    assert trace.agents["calc"].cost == trace.cost == trace.cost_by_model["gpt-4o-mini"]
    assert all(c.provider == "openai" for c in trace.llm_calls)


def test_a_workflow_priced_by_genai_prices_and_by_the_telemetrys_table(
    server: ScriptedLLMServer,
) -> None:
    script = demo()
    table = {"gpt-4o-mini": ModelPrice(input_mtok=1, output_mtok=2, cached_input_mtok=0.5)}
    costs = []
    for telemetry in (Telemetry(), Telemetry(prices=table)):
        with telemetry:
            server.clear_log()
            server.set_script(script.router())
            adapter = LlamaIndexAgentAdapter(demo_workflow(server), "team", telemetry)
            adapter.run(script.user_msg)
            truth = server.usage_sent_total()
            assert (truth.prompt, truth.completion, truth.cached) == (2240, 123, 896)
            costs.append(adapter.gather_traces()["cost"])
    # 1344 fresh x 0.15 + 896 cached x 0.075 = 201.6 + 67.2; 123 out x 0.6 = 73.8 (u$)
    assert costs[0] == {
        "total_usd": 0.0003426,
        "input_usd": 0.0002688,
        "output_usd": 0.0000738,
        "complete": True,
        "unpriced_calls": 0,
    }
    # the table: 1344 x 1 + 896 x 0.5 = 1792; 123 x 2 = 246 (u$)
    assert costs[1] == {
        "total_usd": 0.002038,
        "input_usd": 0.001792,
        "output_usd": 0.000246,
        "complete": True,
        "unpriced_calls": 0,
    }


# ----------------------------------------------------------------------------- MASEval's fields


def calc_adapter(server: ScriptedLLMServer, telemetry: Telemetry, **kwargs: Any) -> Any:
    """``calc`` answering "What is 2 + 3?": calls of 100/10 then 130/7 tokens, nothing cached."""
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", telemetry, **kwargs)
    adapter.run("What is 2 + 3?")
    return adapter


# 100 x 0.15 + 10 x 0.6 = 21 u$; 130 x 0.15 + 7 x 0.6 = 23.7 u$
CALC_USD = 0.0000447


def test_gather_usage_carries_the_span_derived_cost(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry)
    usage = adapter.gather_usage()
    assert usage.cost == CALC_USD
    assert usage.units == {"llm_calls": 2, "llm_calls_missing_usage": 0, "llm_calls_unpriced": 0}
    assert adapter.gather_traces()["cost"]["total_usd"] == CALC_USD
    assert adapter.gather_traces()["agents"]["calc"]["cost"]["total_usd"] == CALC_USD
    assert (adapter.logs[-1]["cost_usd"], adapter.logs[-1]["cost_complete"]) == (CALC_USD, True)


def test_a_maseval_cost_calculator_wins_and_prices_each_call(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    per_token = StaticPricingCalculator({"gpt-4o-mini": {"input": 1e-6, "output": 2e-6}})
    adapter = calc_adapter(server, module_telemetry, cost_calculator=per_token)
    usage = adapter.gather_usage()
    # (100 x 1 + 10 x 2) + (130 x 1 + 7 x 2) = 120 + 144 micro-units
    assert usage.cost == pytest.approx(0.000264, rel=1e-12)
    assert usage.units["llm_calls_unpriced"] == 0
    assert adapter.last_run.to_dict()["cost"]["total_usd"] == CALC_USD  # the RunTrace stays USD


def test_a_calculator_without_the_model_leaves_the_calls_unpriced(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry, cost_calculator=StaticPricingCalculator({}))
    usage = adapter.gather_usage()
    assert (usage.cost, usage.units["llm_calls_unpriced"]) == (0.0, 2)


def test_an_explicit_model_id_names_the_model_the_calculator_prices(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    deal = StaticPricingCalculator({"our-deal": {"input": 1.0, "output": 0.0}})
    adapter = calc_adapter(server, module_telemetry, cost_calculator=deal, model_id="our-deal")
    assert adapter.gather_usage().cost == 230.0  # 100 + 130 input tokens at 1 credit each


def test_unknown_usage_gives_no_cost_and_says_so(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry, include_usage=False)
    usage = adapter.gather_usage()
    assert usage.cost == 0.0  # MASEval's "not tracked"; the units say why
    assert usage.units == {"llm_calls": 2, "llm_calls_missing_usage": 2, "llm_calls_unpriced": 2}
    assert adapter.gather_traces()["cost"] == {
        "total_usd": None,
        "input_usd": None,
        "output_usd": None,
        "complete": False,
        "unpriced_calls": 2,
    }
    assert (adapter.logs[-1]["cost_usd"], adapter.logs[-1]["cost_complete"]) == (None, False)
