"""MASEval's AgentAdapter contract (its tests/test_contract), on a real FunctionAgent, a real
two-agent AgentWorkflow, a real LangGraph agent and a real langgraph-swarm through our adapters;
the scripted server is the only fake."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from maseval import AgentAdapter, MessageHistory
from maseval.core.callback import AgentCallback
from support import langgraph_scenarios as lg
from support.adapter_fixtures import (
    calc_agent,
    calc_replies,
    demo,
    demo_workflow,
    module_telemetry,
    scripted_server,
)

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import LangGraphAgentAdapter, LlamaIndexAgentAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

WRITER = "You are the writer."
Make = Callable[..., LlamaIndexAgentAdapter | LangGraphAgentAdapter]
LANGGRAPH_KINDS = ("langgraph_agent", "langgraph_swarm")


def _router(kind: str) -> ConversationRouter:
    later: list[Reply] = [Reply(content="Second response")]
    if kind == "function_agent":
        first = calc_replies(1, 2)
    elif kind == "langgraph_agent":
        first = list(lg.ONE_TOOL_REPLIES)
    elif kind == "langgraph_swarm":
        first = list(lg.SWARM_REPLIES)
    else:
        first = list(demo().replies)
        later = [Reply(agent=WRITER, content="Second response")]
    return ConversationRouter(
        {"Test query": first, "First query": [*first, *later], "": [Reply(content="Response")]}
    )


@pytest.fixture(params=["function_agent", "agent_workflow", *LANGGRAPH_KINDS])
def make(
    request: pytest.FixtureRequest, scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> Make:
    """Build an adapter around a fresh real agent of the parametrised kind."""
    kind = request.param
    scripted_server.set_script(_router(kind))

    def build(
        callbacks: list[AgentCallback] | None = None,
    ) -> LlamaIndexAgentAdapter | LangGraphAgentAdapter:
        if kind in LANGGRAPH_KINDS:
            graph = (
                lg.one_tool_agent(scripted_server)
                if kind == "langgraph_agent"
                else lg.swarm_graph(scripted_server)
            )
            return LangGraphAgentAdapter(graph, "test_agent", module_telemetry, callbacks=callbacks)
        agent: Any = (
            calc_agent(scripted_server)
            if kind == "function_agent"
            else demo_workflow(scripted_server)
        )
        return LlamaIndexAgentAdapter(agent, "test_agent", module_telemetry, callbacks=callbacks)

    return build


class Tracker(AgentCallback):
    """Records callback events, and the message count each one saw."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.events: list[tuple[str, Any]] = []

    def on_run_start(self, agent: AgentAdapter) -> None:
        self.events.append((f"{self.label}start", len(agent.get_messages())))

    def on_run_end(self, agent: AgentAdapter, result: Any) -> None:
        self.events.append((f"{self.label}end", (len(agent.get_messages()), result)))


def test_is_a_maseval_agent_adapter(make: Make) -> None:
    adapter = make()
    assert isinstance(adapter, AgentAdapter)
    assert isinstance(adapter.get_messages(), MessageHistory)
    assert len(adapter.get_messages()) == 0  # empty before the first run


def test_run_returns_a_string_and_fills_the_history(make: Make) -> None:
    adapter = make()
    result = adapter.run("Test query")
    assert isinstance(result, str) and result
    history = adapter.get_messages()
    assert len(history) > 0
    assert history[0]["role"] in ("user", "system")
    assert any(m["role"] in ("assistant", "tool") for m in history)


def test_messages_are_openai_format(make: Make) -> None:
    adapter = make()
    adapter.run("Test query")
    for message in adapter.get_messages():
        assert "role" in message and "content" in message, message
        assert message["role"] in {"user", "assistant", "system", "tool"}


def test_callbacks_fire_in_order_with_state(make: Make) -> None:
    first, second = Tracker("first_"), Tracker("second_")
    adapter = make(callbacks=[first, second])
    result = adapter.run("Test query")
    assert [e[0] for e in first.events] == ["first_start", "first_end"]
    assert [e[0] for e in second.events] == ["second_start", "second_end"]
    assert first.events[0][1] == 0  # on_run_start: nothing yet
    count_at_end, passed = first.events[1][1]
    assert count_at_end > 0 and passed == result  # on_run_end: history filled, result passed


def test_traces_and_config_are_json_with_iso_timestamps(make: Make) -> None:
    adapter = make()
    config_before = adapter.gather_config()
    adapter.run("Test query")
    traces = adapter.gather_traces()
    config_after = adapter.gather_config()

    for data in (traces, config_before, config_after):
        json.dumps(data)
        datetime.fromisoformat(data["gathered_at"])
    assert isinstance(traces["messages"], list) and traces["messages"]
    assert traces["message_count"] == len(traces["messages"])
    assert {"type", "name", "agent_type", "callbacks", "logs"} <= traces.keys()
    assert {"type", "name", "agent_type", "adapter_type", "callbacks"} <= config_after.keys()
    config_before.pop("gathered_at")
    config_after.pop("gathered_at")
    assert config_before == config_after  # a run does not change the configuration


def test_logs_grow_per_run_and_history_accumulates(make: Make) -> None:
    adapter = make()
    assert adapter.logs == []
    adapter.run("First query")
    first = adapter.get_messages().to_list()
    assert len(adapter.logs) == 1
    adapter.run("Second query")
    second = adapter.get_messages().to_list()
    assert len(adapter.logs) == 2
    assert all(isinstance(entry, dict) and entry for entry in adapter.logs)
    assert adapter.gather_traces()["logs"] == adapter.logs
    assert second[: len(first)] == first  # the conversation continued
    assert [m["content"] for m in second if m["role"] == "user"] == ["First query", "Second query"]


def test_an_empty_query_raises_a_plain_value_error(
    make: Make, scripted_server: ScriptedLLMServer, request: pytest.FixtureRequest
) -> None:
    """MASEval accepts a result or a plain ValueError; LlamaIndex agents raise one themselves,
    LangGraph graphs send the empty message to the model and return its answer."""
    adapter = make()
    scripted_server.clear_log()
    if request.node.callspec.params["make"] in LANGGRAPH_KINDS:
        assert adapter.run("") == "Response"
        assert adapter.logs[0]["status"] == "success"
        assert len(scripted_server.log) == 1
        return
    with pytest.raises(ValueError, match="Must provide either user_msg or chat_history") as raised:
        adapter.run("")
    assert type(raised.value) is ValueError
    (log,) = adapter.logs
    assert (log["status"], log["error_type"], log["query"]) == ("error", "ValueError", "")
    assert scripted_server.log == []  # refused before any model call
