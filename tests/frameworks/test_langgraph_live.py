"""Live LangGraph runs through ``LangGraphAgentAdapter`` against the scripted server's ground
truth: every number asserted is what the server sent (its log), never recomputed by us."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support import langgraph_scenarios as lg

from otel_bridge import RunTrace, Telemetry
from otel_bridge.maseval_adapter import LangGraphAgentAdapter
from otel_bridge.scripted import (
    ConversationRouter,
    Exchange,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


@pytest.fixture
def llm(server: ScriptedLLMServer) -> ScriptedLLMServer:
    server.clear_log()
    return server


@pytest.fixture(scope="module")
def telemetry() -> Iterator[Telemetry]:
    with Telemetry(service_name="langgraph-tests", frameworks=["langgraph"]) as shared:
        yield shared


def sent(log: list[Exchange]) -> list[tuple[int, int, int]]:
    """(prompt, completion, cached) of each exchange as the server sent it."""
    return [
        (e.usage_sent.prompt, e.usage_sent.completion, e.usage_sent.cached or 0)
        for e in log
        if e.usage_sent is not None
    ]


def calls(trace: RunTrace) -> list[tuple[int, int, int]]:
    return [
        (c.usage.input_tokens, c.usage.output_tokens, c.usage.cached_input_tokens)
        for c in trace.llm_calls
    ]


def run_once(graph: Any, telemetry: Telemetry, query: str = lg.QUERY) -> LangGraphAgentAdapter:
    adapter = LangGraphAgentAdapter(graph, "team", telemetry)
    adapter.run(query)
    return adapter


def test_one_tool_call_matches_what_the_server_sent(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    adapter = run_once(lg.one_tool(llm), telemetry)
    trace = adapter.last_run
    assert trace is not None
    log = llm.log
    assert calls(trace) == sent(log) == [(100, 10, 0), (130, 8, 64)]
    total = llm.usage_sent_total()
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (total.prompt, total.completion)
    assert trace.usage.cached_input_tokens == total.cached
    (tool,) = trace.tool_calls
    assert tool.tool_call_id == log[0].tool_call_ids[0]
    assert (tool.agent, tool.arguments, tool.output) == (
        "researcher",
        {"query": "otel"},
        lg.SEARCH_RESULT,
    )
    # The history is what the last request carried, plus the answer.
    messages = adapter.get_messages().to_list()
    carried = log[-1].messages
    assert [m["role"] for m in messages] == [*(m["role"] for m in carried), "assistant"]
    assert messages[-1]["content"] == lg.ANSWER == adapter.gather_traces()["runs"][0]["output"]
    assert messages[2]["tool_calls"][0]["id"] == carried[2]["tool_calls"][0]["id"]
    assert trace.labels["framework"] == "langgraph" and trace.issues == []


def test_parallel_tool_calls(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    trace = run_once(lg.parallel_tools(llm), telemetry).last_run
    assert trace is not None
    assert calls(trace) == sent(llm.log)
    # The two tools run at once: their spans start in either order; each keeps its own id.
    asked = list(llm.log[0].tool_call_ids)
    by_id = {t.tool_call_id: t.output for t in trace.tool_calls}
    assert by_id == {asked[0]: lg.SEARCH_RESULT, asked[1]: "3"}
    # The history is what the model was sent next: the results in the order it asked.
    results = [m for m in trace.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == list(llm.log[0].tool_call_ids)


def test_a_raising_tool_handled_by_the_tool_node(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    trace = run_once(lg.tool_raises(llm), telemetry).last_run
    assert trace is not None and trace.status == "ok"
    (tool,) = trace.tool_calls
    assert (tool.status, tool.error) == ("error", "RuntimeError: tool exploded: boom")
    assert tool.tool_call_id == llm.log[0].tool_call_ids[0]
    # The model was sent the error text as the tool result; the history says the same.
    sent_result = next(m for m in llm.log[1].messages if m["role"] == "tool")
    result = next(m for m in trace.messages if m["role"] == "tool")
    assert result["content"] == sent_result["content"]
    assert trace.agents["tryer"].errors == 1


def test_a_raising_tool_that_ends_the_run(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    llm.set_script(
        [Reply(tool_calls=[ToolCallSpec("explode", {"reason": "boom"})], usage=Usage(90, 7))]
    )
    from langchain.agents import create_agent

    graph = create_agent(lg.chat_model(llm), [lg.explode], name="tryer")
    adapter = LangGraphAgentAdapter(graph, "team", telemetry)
    with pytest.raises(RuntimeError, match="tool exploded: boom"):
        adapter.run(lg.QUERY)
    trace = adapter.last_run
    assert trace is not None and trace.status == "error" and trace.output is None
    assert calls(trace) == sent(llm.log) == [(90, 7, 0)]
    (tool,) = trace.tool_calls
    assert (tool.status, tool.error) == ("error", "RuntimeError: tool exploded: boom")
    assert adapter.logs[0]["status"] == "error"


@pytest.mark.parametrize("usage", [True, False])
def test_streaming_with_and_without_usage(
    llm: ScriptedLLMServer, telemetry: Telemetry, usage: bool
) -> None:
    trace = run_once(lg.one_tool(llm, streaming=True, usage=usage), telemetry).last_run
    assert trace is not None
    assert all(e.streamed for e in llm.log) and len(llm.log) == 2
    assert trace.output == lg.ANSWER
    assert trace.tool_calls[0].tool_call_id == llm.log[0].tool_call_ids[0]
    if usage:
        assert calls(trace) == sent(llm.log) == [(100, 10, 0), (130, 8, 64)]
        assert trace.usage.complete
    else:
        assert sent(llm.log) == []  # nothing went over the wire: nothing is made up
        assert (trace.usage.complete, trace.usage.missing_calls) == (False, 2)
        assert "tokens_missing" in trace.issues


def per_agent_sent(log: list[Exchange]) -> dict[str, tuple[int, int]]:
    """Tokens the server sent per agent (the agent is the request's system prompt)."""
    prompts = {"You research.": "researcher", "You write.": "writer", "You manage.": "supervisor"}
    out: dict[str, tuple[int, int]] = {}
    for e in log:
        assert e.usage_sent is not None
        agent = prompts[e.messages[0]["content"]]
        before = out.get(agent, (0, 0))
        out[agent] = (before[0] + e.usage_sent.prompt, before[1] + (e.usage_sent.cached or 0))
    return out


def test_swarm_handoff_and_tokens_per_agent(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    adapter = run_once(lg.swarm(llm), telemetry)
    trace = adapter.last_run
    assert trace is not None
    assert {
        name: (a.usage.input_tokens, a.usage.cached_input_tokens)
        for name, a in trace.agents.items()
    } == per_agent_sent(llm.log)
    (handoff,) = trace.handoffs
    assert (handoff.from_agent, handoff.to_agent) == ("researcher", "writer")
    assert handoff.tool_call_id == llm.log[1].tool_call_ids[0]
    assert adapter.gather_traces()["handoffs"][0]["to"] == "writer"


def test_supervisor_handoffs_both_ways(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    trace = run_once(lg.supervisor(llm), telemetry).last_run
    assert trace is not None
    assert {
        n: (a.usage.input_tokens, a.usage.cached_input_tokens) for n, a in trace.agents.items()
    } == (per_agent_sent(llm.log))
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [
        ("supervisor", "researcher"),
        ("researcher", "supervisor"),
    ]
    assert trace.handoffs[0].tool_call_id == llm.log[0].tool_call_ids[0]


def test_24_concurrent_runs_on_6_threads_share_one_telemetry(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    conversations = {
        f"run {i}:": [
            Reply(
                tool_calls=[ToolCallSpec("search", {"query": f"q{i}"})],
                usage=Usage(100 + i, 10 + i),
            ),
            Reply(content=f"answer {i}", usage=Usage(200 + i, 20 + i, cached=i)),
        ]
        for i in range(24)
    }
    llm.set_script(ConversationRouter(conversations))
    barrier = threading.Barrier(6)

    def one(i: int) -> tuple[int, str, RunTrace | None]:
        if i < 6:
            barrier.wait(timeout=30)
        adapter = LangGraphAgentAdapter(lg.one_tool_agent(llm), f"team-{i}", telemetry)
        answer = adapter.run(f"run {i}: tell me")
        return i, answer, adapter.last_run

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(24)))
    assert len(llm.log) == 48
    trace_ids = set()
    for i, answer, trace in results:
        assert answer == f"answer {i}"
        assert trace is not None and trace.issues == []
        trace_ids.add(trace.trace_id)
        assert calls(trace) == [(100 + i, 10 + i, 0), (200 + i, 20 + i, i)]
        assert [t.arguments for t in trace.tool_calls] == [{"query": f"q{i}"}]
        assert trace.input == f"run {i}: tell me"
    assert len(trace_ids) == 24


def test_two_turns_continue_the_conversation(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    adapter = run_once(lg.one_tool(llm), telemetry)
    llm.set_script([Reply(content="Second.", usage=Usage(300, 4))])
    assert adapter.run("And again?") == "Second."
    second = llm.log[-1].messages
    # The second request carried the whole first conversation, then the new question.
    assert [m["role"] for m in second] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert second[-1]["content"] == "And again?"
    messages = adapter.get_messages().to_list()
    assert [m["role"] for m in messages] == [*(m["role"] for m in second), "assistant"]
    assert [m["content"] for m in messages if m["role"] == "user"] == [lg.QUERY, "And again?"]
    usage = adapter.gather_usage()
    total = llm.usage_sent_total()
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (
        total.prompt,
        total.completion,
        total.cached,
    )
    assert [len(r.llm_calls) for r in adapter.runs] == [2, 1]


def test_two_turns_with_a_checkpointer_thread(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    llm.set_script(ConversationRouter({lg.QUERY: [*lg.SWARM_REPLIES, Reply(content="Again.")]}))
    graph = lg.swarm_graph(llm, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-1"}}
    adapter = LangGraphAgentAdapter(graph, "team", telemetry, config=config)
    adapter.run(lg.QUERY)
    assert adapter.run("And again?") == "Again."
    second = llm.log[-1].messages
    assert second[-1]["content"] == "And again?" and second[0]["content"] == "You write."
    messages = adapter.get_messages().to_list()
    assert [m["content"] for m in messages if m["role"] == "user"] == [lg.QUERY, "And again?"]
    assert messages[-1] == {
        **messages[-1],
        "role": "assistant",
        "content": "Again.",
        "agent": "writer",
    }
    assert json.dumps(adapter.gather_config())  # the config stays JSON


def test_reasoning_tokens_and_a_failed_model_call(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script([Reply(content="hi", usage=Usage(50, 20, cached=10, reasoning=12))])
    adapter = LangGraphAgentAdapter(lg.one_tool_agent(llm), "team", telemetry)
    adapter.run("q")
    assert adapter.last_run is not None
    usage = adapter.last_run.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.reasoning_tokens) == (50, 10, 12)
    llm.set_script([Reply(status=500, error_body={"error": {"message": "boom"}})])
    with pytest.raises(Exception, match="boom"):
        adapter.run("again")
    failed = adapter.last_run
    assert failed is not None and failed.status == "error" and failed.output is None
    assert [c.status for c in failed.llm_calls] == ["error"]
    assert "tokens_missing" in failed.issues  # the failed call reported no usage: not zero
    assert adapter.logs[-1]["status"] == "error"


def test_an_agent_run_inside_a_tool_is_a_delegation(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    llm.set_script(
        ConversationRouter(
            {
                lg.QUERY: [
                    Reply(
                        tool_calls=[ToolCallSpec("ask_writer", {"task": "Write about otel"})],
                        usage=Usage(70, 7),
                    ),
                    Reply(content="Done.", usage=Usage(90, 3)),
                ],
                "Write about otel": [Reply(content="Otel text.", usage=Usage(30, 5))],
            }
        )
    )
    writer = create_agent(lg.chat_model(llm), [], system_prompt="You write.", name="writer")

    @tool
    def ask_writer(task: str) -> str:
        """Ask the writer."""
        result = writer.invoke({"messages": [{"role": "user", "content": task}]})
        return str(result["messages"][-1].content)

    lead = create_agent(lg.chat_model(llm), [ask_writer], system_prompt="You lead.", name="lead")
    trace = run_once(lead, telemetry).last_run
    assert trace is not None
    (delegation,) = trace.delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "lead",
        "writer",
        "Write about otel",
    )
    assert delegation.tool_call_id == llm.log[0].tool_call_ids[0]
    assert trace.handoffs == []
    assert {n: a.usage.input_tokens for n, a in trace.agents.items()} == {"lead": 160, "writer": 30}
    assert [(m["agent"], m["role"]) for m in trace.messages if m["role"] != "system"][2:4] == [
        ("writer", "user"),
        ("writer", "assistant"),
    ]
