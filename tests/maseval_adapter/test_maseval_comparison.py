"""Side by side: MASEval's memory-based LlamaIndexAgentAdapter and ours, on the same real agents.

Both run the same FunctionAgent (two tool calls) and the same researcher -> writer AgentWorkflow
against the scripted server, whose recorded usage is the ground truth. Ours must have every
tool call and the exact token sum where MASEval's does not.

``python tests/maseval_adapter/test_maseval_comparison.py`` prints the markdown table of
docs/maseval_comparison.md.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from maseval.interface.agents.llamaindex import LlamaIndexAgentAdapter as MasevalAdapter
from support.adapter_fixtures import (
    calc_agent,
    demo,
    demo_workflow,
    module_telemetry,
    scripted_server,
)

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
)

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

CALC_QUERY = "Add 1 and 2, then 3 and 4."
CALC_REPLIES = (
    Reply(tool_calls=[ToolCallSpec("add", {"a": 1, "b": 2})], usage=Usage(150, 18, cached=0)),
    Reply(tool_calls=[ToolCallSpec("add", {"a": 3, "b": 4})], usage=Usage(190, 18, cached=128)),
    Reply(content="3 and 7.", usage=Usage(230, 6, cached=128)),
)


@dataclass(frozen=True)
class Measured:
    """What one adapter reported about one run (or the server's ground truth)."""

    messages: int
    tool_calls: int
    tool_results: int
    tokens: int
    input_tokens: int
    cached_tokens: int
    llm_calls: int | None
    handoffs: int | None


def _script(kind: str) -> tuple[str, ConversationRouter, int]:
    """The query, the router and the number of tool calls of a scenario."""
    if kind == "function_agent":
        return CALC_QUERY, ConversationRouter({CALC_QUERY: CALC_REPLIES}), 2
    script = demo()
    return script.user_msg, script.router(), 3


def _agent(kind: str, server: ScriptedLLMServer, include_usage: bool) -> Any:
    if kind == "function_agent":
        return calc_agent(server, include_usage=include_usage)
    return demo_workflow(server, include_usage=include_usage)


def _measured(adapter: Any, llm_calls: int | None = None, handoffs: int | None = None) -> Measured:
    """What an adapter's messages and usage show after its run."""
    messages = adapter.get_messages().to_list()
    usage = adapter.gather_usage()
    return Measured(
        messages=len(messages),
        tool_calls=sum(len(m.get("tool_calls") or ()) for m in messages),
        tool_results=sum(1 for m in messages if m.get("role") == "tool"),
        tokens=getattr(usage, "total_tokens", 0),
        input_tokens=getattr(usage, "input_tokens", 0),
        cached_tokens=getattr(usage, "cached_input_tokens", 0),
        llm_calls=llm_calls,
        handoffs=handoffs,
    )


def run_maseval(kind: str, server: ScriptedLLMServer, include_usage: bool) -> Measured:
    """MASEval's adapter on a fresh agent (the LLM as the user configured it)."""
    query, router, _ = _script(kind)
    server.set_script(router)
    adapter = MasevalAdapter(_agent(kind, server, include_usage), "maseval")
    adapter.run(query)
    return _measured(adapter)


def run_ours(kind: str, server: ScriptedLLMServer, module_telemetry: Telemetry) -> Measured:
    """Our adapter on a fresh agent with the same default LLM configuration."""
    query, router, _ = _script(kind)
    server.set_script(router)
    adapter = LlamaIndexAgentAdapter(_agent(kind, server, False), "ours", module_telemetry)
    adapter.run(query)
    traces = adapter.gather_traces()
    calls = sum(len(run["llm_calls"]) for run in traces["runs"])
    return _measured(adapter, llm_calls=calls, handoffs=len(traces["handoffs"]))


def ground_truth(kind: str, server: ScriptedLLMServer) -> Measured:
    """What the server answered during the last run (its log is cleared before each run)."""
    sent = server.usage_sent_total()
    _, _, tool_calls = _script(kind)
    log = server.log
    return Measured(
        messages=0,
        tool_calls=tool_calls,
        tool_results=tool_calls,
        tokens=sent.total,
        input_tokens=sent.prompt,
        cached_tokens=sent.cached or 0,
        llm_calls=len(log),
        handoffs=1 if kind == "agent_workflow" else 0,
    )


def _fresh(server: ScriptedLLMServer) -> ScriptedLLMServer:
    server.clear_log()
    return server


# What the scripted server sends for each scenario (README's comparison table).
TRUTH = {
    "function_agent": Measured(
        messages=0, tool_calls=2, tool_results=2, tokens=612, input_tokens=570, cached_tokens=256,
        llm_calls=3, handoffs=0,
    ),
    "agent_workflow": Measured(
        messages=0, tool_calls=3, tool_results=3, tokens=2363, input_tokens=2240,
        cached_tokens=896, llm_calls=4, handoffs=1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", ["function_agent", "agent_workflow"])
def test_ours_has_every_tool_call_and_the_exact_token_sum(
    kind: str, scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    theirs = run_maseval(kind, _fresh(scripted_server), include_usage=False)
    theirs_with_usage = run_maseval(kind, _fresh(scripted_server), include_usage=True)
    assert ground_truth(kind, scripted_server) == TRUTH[kind]  # the run that asked for usage
    ours = run_ours(kind, _fresh(scripted_server), module_telemetry)
    truth = ground_truth(kind, scripted_server)
    assert truth == TRUTH[kind]

    assert (ours.tool_calls, ours.tool_results) == (truth.tool_calls, truth.tool_results)
    assert (ours.tokens, ours.input_tokens, ours.cached_tokens) == (
        truth.tokens,
        truth.input_tokens,
        truth.cached_tokens,
    )
    assert (ours.llm_calls, ours.handoffs) == (truth.llm_calls, truth.handoffs)

    for measured in (theirs, theirs_with_usage):
        assert measured.tool_calls == measured.tool_results == 0  # every tool call dropped
        assert measured.messages == 2  # the query and the final answer, nothing between
        assert measured.tokens != truth.tokens
    assert ours.messages > theirs.messages


def test_maseval_config_raises_on_a_function_agent_ours_does_not(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    with pytest.raises(AttributeError):
        MasevalAdapter(calc_agent(scripted_server), "maseval").gather_config()
    config = LlamaIndexAgentAdapter(
        calc_agent(scripted_server), "ours", module_telemetry
    ).gather_config()
    assert [t["name"] for t in config["llamaindex"]["agents"][0]["tools"]] == ["add", "explode"]


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_maseval_run_fails_in_a_running_loop_ours_does_not(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    scripted_server.set_script(ConversationRouter({CALC_QUERY: CALC_REPLIES}))
    with pytest.raises(RuntimeError, match="running event loop"):
        MasevalAdapter(calc_agent(scripted_server), "maseval").run(CALC_QUERY)
    ours = LlamaIndexAgentAdapter(calc_agent(scripted_server), "ours", module_telemetry)
    assert ours.run(CALC_QUERY) == "3 and 7."


def _table() -> str:
    """The comparison, measured now, as markdown."""
    rows: list[tuple[str, str, str, str, str]] = []
    with ScriptedLLMServer() as server, Telemetry() as tel:
        for kind, label in (
            ("function_agent", "FunctionAgent"),
            ("agent_workflow", "AgentWorkflow"),
        ):
            theirs = run_maseval(kind, _fresh(server), include_usage=False)
            theirs_usage = run_maseval(kind, _fresh(server), include_usage=True)
            ours = run_ours(kind, _fresh(server), tel)
            truth = ground_truth(kind, server)
            for name, attr in (
                ("messages in get_messages()", "messages"),
                ("tool calls in messages", "tool_calls"),
                ("tool results in messages", "tool_results"),
                ("LLM calls counted", "llm_calls"),
                ("total tokens", "tokens"),
                ("input tokens", "input_tokens"),
                ("cached input tokens", "cached_tokens"),
                ("handoffs", "handoffs"),
            ):
                truth_cell, theirs_cell, usage_cell, ours_cell = (
                    "n/a" if v is None else str(v)
                    for v in (getattr(m, attr) for m in (truth, theirs, theirs_usage, ours))
                )
                if attr == "messages":
                    truth_cell = "-"
                rows.append((f"{label}: {name}", truth_cell, theirs_cell, usage_cell, ours_cell))
        scripted = ConversationRouter({CALC_QUERY: CALC_REPLIES})
        server.set_script(scripted)
        try:
            MasevalAdapter(calc_agent(server), "maseval").gather_config()
            config_theirs = "works"
        except Exception as exc:
            config_theirs = f"raises {type(exc).__name__}"
        LlamaIndexAgentAdapter(calc_agent(server), "ours", tel).gather_config()

        async def in_loop(adapter: Any) -> str:
            try:
                adapter.run(CALC_QUERY)
                return "works"
            except Exception as exc:
                return f"raises {type(exc).__name__}"

        loop_theirs = asyncio.run(in_loop(MasevalAdapter(calc_agent(server), "maseval")))
        loop_ours = asyncio.run(in_loop(LlamaIndexAgentAdapter(calc_agent(server), "o", tel)))
    rows.append(("FunctionAgent: gather_config()", "-", config_theirs, config_theirs, "works"))
    rows.append(("run() inside a running event loop", "-", loop_theirs, loop_theirs, loop_ours))
    header = (
        "| measured | ground truth (scripted server) | MASEval 0.5.1 adapter | "
        "MASEval 0.5.1 adapter, LLM with include_usage | otel-bridge adapter |\n"
        "|---|---|---|---|---|\n"
    )
    return header + "\n".join(f"| {' | '.join(row)} |" for row in rows)


if __name__ == "__main__":
    print(_table())
