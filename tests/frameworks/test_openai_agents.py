"""The OpenAI Agents SDK, live against the scripted model: derivation, adapter, concurrency.

Real ``agents.Agent``s on ``OpenAIChatCompletionsModel`` with the real ``AsyncOpenAI`` client,
instrumented by OpenInference's instrumentor through a Telemetry; the numbers are checked
against what the scripted server sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, RunConfig, Runner
from agents.models import openai_provider
from maseval import AgentAdapter
from openai import AsyncOpenAI
from support.openai_agents_team import (
    ANSWER,
    FACT,
    explode,
    scripted_model,
    search,
    team,
    team_router,
)
from support.paths import TESTS

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.maseval_adapter import OpenAIAgentsAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage


@pytest.fixture(scope="module")
def sdk_telemetry() -> Any:
    telemetry = Telemetry(frameworks=["openai_agents"])
    yield telemetry
    telemetry.shutdown()


@pytest.fixture
def sdk_default_client(llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's default model (no ``model=``) reaches the scripted server through the
    environment, as a user's would reach OpenAI.

    The SDK keeps one ``httpx.AsyncClient`` for its default clients; each test here runs in an
    event loop of its own, and a pooled connection of a closed loop fails the next loop's
    first request (which the SDK then retries without a span). Each test gets a fresh one.
    """
    monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "fake")
    monkeypatch.setattr(openai_provider, "_http_client", None)


@pytest.mark.parametrize(
    ("api", "streamed"),
    [("chat", False), ("chat", True), ("default", False), ("default", True)],
    ids=["chat", "chat-streamed", "responses", "responses-streamed"],
)
async def test_a_handoff_and_an_agent_as_tool_derive_from_spans(
    llm: ScriptedLLMServer,
    sdk_telemetry: Telemetry,
    sdk_default_client: None,
    api: str,
    streamed: bool,
) -> None:
    """The same run on chat completions and on the SDK's default, the Responses API, through
    ``Runner.run`` and ``Runner.run_streamed``."""
    llm.set_script(team_router())
    with sdk_telemetry.start_run("team") as span:
        if streamed:
            result: Any = Runner.run_streamed(team(llm, api), "Tell me about otel")
            async for _event in result.stream_events():
                pass
        else:
            result = await Runner.run(team(llm, api), "Tell me about otel")
    trace = sdk_telemetry.run_trace(f"{span.get_span_context().trace_id:032x}")
    assert {e.api for e in llm.log} == {"chat" if api == "chat" else "responses"}
    assert any(e.streamed for e in llm.log) == streamed
    assert result.final_output == trace.output == ANSWER
    assert trace.labels["framework"] == "openai_agents"
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
    (delegation,) = trace.delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "writer",
        "checker",
        "check it",
    )
    # Every tool call with the id the model gave it (the handoff's too), by its agent.
    asked = [call_id for e in llm.log for call_id in e.tool_call_ids]
    assert [(t.agent, t.name, t.tool_call_id) for t in trace.tool_calls] == [
        ("researcher", "search", asked[0]),
        ("researcher", "transfer_to_writer", asked[1]),
        ("writer", "ask_checker", asked[2]),
    ]
    assert trace.handoffs[0].tool_call_id == asked[1]
    assert delegation.tool_call_id == asked[2]
    sent = llm.usage_sent_total()
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (sent.prompt, sent.completion)
    # Streamed on chat completions, the SDK asks for no usage: only the checker (an agent as
    # a tool runs unstreamed) reports tokens, and the run says tokens are missing.
    unreported = api == "chat" and streamed
    assert {a: s.usage.input_tokens for a, s in trace.agents.items()} == {
        "researcher": 0 if unreported else 150,
        "writer": 0 if unreported else 130,
        "checker": 20,
    }
    assert [(m["agent"], m["role"]) for m in trace.messages] == [
        ("researcher", "system"),
        ("researcher", "user"),
        ("researcher", "assistant"),
        ("researcher", "tool"),
        ("researcher", "assistant"),
        ("researcher", "tool"),
        ("writer", "system"),
        ("writer", "assistant"),
        ("checker", "system"),
        ("checker", "user"),
        ("checker", "assistant"),
        ("writer", "tool"),
        ("writer", "assistant"),
    ]
    tool_results = [
        (m.get("tool_call_id"), m["content"]) for m in trace.messages if m["role"] == "tool"
    ]
    assert tool_results[0] == (asked[0], FACT)
    assert tool_results[-1] == (asked[2], "looks right")
    # The writer's answer reused 32 cached prompt tokens: OpenInference records them from the
    # Responses API, not from chat completions.
    assert trace.usage.cached_input_tokens == (0 if api == "chat" else 32)
    assert trace.issues == (["tokens_missing"] if unreported else [])


async def test_cached_and_reasoning_tokens_of_the_responses_api(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry, sdk_default_client: None
) -> None:
    """The Responses API always reports cached and reasoning counts; each call keeps its own."""
    llm.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("search", {"query": "otel"})],
                usage=Usage(300, 20, cached=256, reasoning=12),
            ),
            Reply(content="Done.", usage=Usage(340, 8)),
        ]
    )
    agent = Agent(name="solo", instructions="You search.", tools=[search])
    with sdk_telemetry.start_run("solo") as span:
        await Runner.run(agent, "go")
    trace = sdk_telemetry.run_trace(f"{span.get_span_context().trace_id:032x}")
    assert [(c.usage.cached_input_tokens, c.usage.reasoning_tokens) for c in trace.llm_calls] == [
        (256, 12),
        (0, 0),
    ]
    usage = trace.agents["solo"].usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (640, 256, 28)
    assert usage.reasoning_tokens == 12
    assert trace.output == "Done."


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_parallel_tool_calls_streamed_with_usage(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry, api: str
) -> None:
    """Two tool calls in one turn, streamed, usage asked for (chat completions needs
    ``include_usage``): each call with its id, result and agent, every token counted."""
    llm.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("search", {"query": "otel"}),
                    ToolCallSpec("search", {"query": "genai"}),
                ],
                usage=Usage(80, 12, cached=16),
            ),
            Reply(content="Both found.", usage=Usage(120, 5)),
        ]
    )
    agent = Agent(
        name="solo",
        instructions="You search.",
        model=scripted_model(llm, api),
        tools=[search],
        model_settings=ModelSettings(include_usage=True),
    )
    with sdk_telemetry.start_run("solo") as span:
        result = Runner.run_streamed(agent, "Find both.")
        async for _event in result.stream_events():
            pass
    trace = sdk_telemetry.run_trace(f"{span.get_span_context().trace_id:032x}")
    first = llm.log[0]
    assert first.streamed and first.usage_sent is not None
    assert [(t.agent, t.arguments, t.tool_call_id, t.output) for t in trace.tool_calls] == [
        ("solo", {"query": "otel"}, first.tool_call_ids[0], FACT),
        ("solo", {"query": "genai"}, first.tool_call_ids[1], FACT),
    ]
    results = [m["tool_call_id"] for m in trace.messages if m["role"] == "tool"]
    assert results == list(first.tool_call_ids)
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (200, 17)
    # Chat completions' cached count is not recorded by OpenInference; the Responses API's is.
    assert trace.usage.cached_input_tokens == (0 if api == "chat" else 16)
    assert trace.output == result.final_output == "Both found."
    assert trace.issues == []


async def test_response_chaining_sends_only_new_items_and_still_derives(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry
) -> None:
    """``auto_previous_response_id``: after the first call the SDK sends only the new items and
    the server holds the rest; the run's spans still give its tool call, result and answer."""
    llm.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(100, 10)),
            Reply(content="Done.", usage=Usage(150, 5)),
        ]
    )
    agent = Agent(
        name="solo", instructions="You search.", model=scripted_model(llm, "responses"),
        tools=[search],
    )  # fmt: skip
    with sdk_telemetry.start_run("chained") as span:
        await Runner.run(agent, "go", auto_previous_response_id=True)
    trace = sdk_telemetry.run_trace(f"{span.get_span_context().trace_id:032x}")
    first, second = llm.log
    assert second.request_json["previous_response_id"] == first.response_id
    assert [i.get("type") for i in second.request_json["input"]] == ["function_call_output"]
    (call_id,) = first.tool_call_ids
    assert [(m["role"], m.get("tool_call_id")) for m in trace.messages] == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", call_id),
        ("assistant", None),
    ]
    assert trace.messages[2]["tool_calls"][0]["id"] == call_id
    assert [(t.tool_call_id, t.output) for t in trace.tool_calls] == [(call_id, FACT)]
    assert (trace.output, trace.usage.input_tokens, trace.issues) == ("Done.", 250, [])


async def test_a_raising_tool_is_an_error_on_its_agent(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry
) -> None:
    llm.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("explode", {"reason": "x"})], usage=Usage(30, 3)),
            Reply(content="It failed.", usage=Usage(40, 4)),
        ]
    )
    client = AsyncOpenAI(base_url=llm.base_url, api_key="fake")
    model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
    agent = Agent(name="solo", instructions="You try.", model=model, tools=[explode])
    with sdk_telemetry.start_run("solo") as span:
        await Runner.run(agent, "go")
    trace = sdk_telemetry.run_trace(f"{span.get_span_context().trace_id:032x}")
    (tool,) = trace.tool_calls
    assert (tool.agent, tool.name, tool.status) == ("solo", "explode", "error")
    assert trace.agents["solo"].errors == 1
    assert trace.output == "It failed."


@pytest.mark.parametrize("api", ["chat", "default"], ids=["chat", "responses"])
def test_the_adapter_keeps_maseval_contract_and_the_conversation(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry, sdk_default_client: None, api: str
) -> None:
    llm.set_script(team_router())
    adapter = OpenAIAgentsAdapter(team(llm, api), "team", sdk_telemetry, task_id="t1", repetition=0)
    assert isinstance(adapter, AgentAdapter)
    assert len(adapter.get_messages()) == 0
    config = {k: v for k, v in adapter.gather_config().items() if k != "gathered_at"}
    assert config["openai_agents"]["handoffs"] == ["writer"]
    assert adapter.run("Tell me about otel") == ANSWER
    assert adapter.run("And now?") == "Second answer."  # the writer carries it on
    after = {k: v for k, v in adapter.gather_config().items() if k != "gathered_at"}
    assert after == config  # running does not change the config
    history = adapter.get_messages()
    assert history[0]["role"] in ("user", "system")
    assert [m["content"] for m in history if m["role"] == "user"][-1] == "And now?"
    traces = adapter.gather_traces()
    json.dumps(traces)
    json.dumps(adapter.gather_config())
    datetime.fromisoformat(traces["gathered_at"])
    assert len(traces["logs"]) == 2
    usage = adapter.gather_usage()
    sent = llm.usage_sent_total()
    assert (usage.input_tokens, usage.output_tokens) == (sent.prompt, sent.completion)
    assert adapter.last_run is not None
    assert adapter.last_run.labels["task_id"] == "t1"
    assert [a for a in adapter.last_run.agents] == ["writer"]
    with pytest.raises(ValueError):
        adapter.run("")


def test_concurrent_runs_on_threads_never_mix(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry
) -> None:
    """24 runs on 6 threads share one Telemetry: each run's trace is its own."""
    llm.set_script(
        ConversationRouter(
            {
                f"task {i}": [
                    Reply(
                        tool_calls=[ToolCallSpec("search", {"query": f"q{i}"})],
                        usage=Usage(10 + i, 1),
                    ),
                    Reply(content=f"answer {i}", usage=Usage(20 + i, 2)),
                ]
                for i in range(24)
            }
        )
    )
    # A response that never arrives is asked again after 30 s (the client's retry), well within
    # the test's time limit; the default waits 10 minutes.
    client = AsyncOpenAI(base_url=llm.base_url, api_key="fake", timeout=30)
    model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)

    def one(i: int) -> tuple[int, Any]:
        agent = Agent(name=f"agent{i}", instructions="You search.", model=model, tools=[search])
        adapter = OpenAIAgentsAdapter(agent, f"a{i}", sdk_telemetry)
        assert adapter.run(f"task {i}") == f"answer {i}"
        return i, adapter.last_run

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(24)))
    for i, trace in results:
        assert trace is not None
        assert list(trace.agents) == [f"agent{i}"]
        assert trace.usage.input_tokens == (10 + i) + (20 + i)
        assert [t.arguments for t in trace.tool_calls] == [{"query": f"q{i}"}]
        assert trace.output == f"answer {i}"


@pytest.mark.parametrize(
    ("api", "streamed"),
    [("chat", ""), ("responses", ""), ("chat", "streamed")],
    ids=["chat", "responses", "chat-streamed"],
)
def test_opentelemetrys_own_instrumentation_derives_the_same_run(
    tmp_path: Path, api: str, streamed: str
) -> None:
    """OpenTelemetry's GenAI instrumentation of the SDK (and of the OpenAI client) records no
    span of the handoff itself: it is found from the model's transfer_to_writer call."""
    recorder = TESTS / "instrumented" / "record_openai_agents.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(recorder), str(tmp_path), "genai", api, streamed],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    truth = json.loads((tmp_path / "team.truth.json").read_text())
    assert truth["apis"] == [api]
    trace = derive(load_spans(tmp_path / "team.otlp.json"))
    asked = truth["tool_call_ids"]
    assert trace.output == truth["answer"] == ANSWER
    assert trace.labels["framework"] == "openai_agents"
    assert [(h.from_agent, h.to_agent, h.tool_call_id) for h in trace.handoffs] == [
        ("researcher", "writer", asked[1])
    ]
    assert [(d.from_agent, d.to_agent, d.task, d.tool_call_id) for d in trace.delegations] == [
        ("writer", "checker", "check it", asked[2])
    ]
    usage = truth["usage"]
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (
        usage["prompt"],
        usage["completion"],
    )
    # Streamed on chat completions, the SDK asks for no usage (the checker runs unstreamed).
    unreported = streamed and api == "chat"
    assert trace.usage.cached_input_tokens == usage["cached"] == (0 if unreported else 32)
    assert {a: (s.llm_calls, s.usage.input_tokens) for a, s in trace.agents.items()} == {
        "researcher": (2, 0 if unreported else 150),
        "writer": (2, 0 if unreported else 130),
        "checker": (1, 20),
    }
    assert [(t.agent, t.name, t.tool_call_id) for t in trace.tool_calls] == [
        ("researcher", "search", asked[0]),
        ("writer", "ask_checker", asked[2]),
    ]
    assert trace.issues == (["tokens_missing"] if unreported else [])


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("semconv", ["openinference", "genai", "both"])
def test_exported_spans_derive_as_captured(
    llm: ScriptedLLMServer, tmp_path: Path, semconv: str, api: str
) -> None:
    """Every export mode keeps the run: agents (``invoke_agent`` in GenAI), the handoff, the
    agent used as a tool, tools with their ids."""
    llm.set_script(team_router())
    path = tmp_path / "team.otlp.json"
    telemetry = Telemetry(otlp_json_file=path, semconv=semconv, frameworks=["openai_agents"])  # type: ignore[arg-type]
    try:
        adapter = OpenAIAgentsAdapter(team(llm, api), "team", telemetry)
        assert adapter.run("Tell me about otel") == ANSWER
        captured = adapter.last_run
    finally:
        telemetry.shutdown()
    assert captured is not None
    exported = derive(load_spans(path))
    assert exported.to_dict() == captured.to_dict()
    names = {s.name for s in load_spans(path)}
    if semconv != "openinference":
        assert {"invoke_agent researcher", "invoke_agent writer", "invoke_agent checker"} <= names
        assert "execute_tool transfer_to_writer → writer" in names


def test_a_run_with_the_sdks_tracing_disabled_says_why_its_data_is_missing(
    llm: ScriptedLLMServer, sdk_telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK's own switch silences the spans otel-bridge reads: the answer is kept, the run
    says it has no model calls, and the log names the switches."""
    llm.set_script(team_router())
    adapter = OpenAIAgentsAdapter(
        team(llm),
        "team",
        sdk_telemetry,
        run_kwargs={"run_config": RunConfig(tracing_disabled=True)},
    )
    assert adapter.run("Tell me about otel") == ANSWER
    trace = adapter.last_run
    assert trace is not None and trace.llm_calls == [] and "no_llm_calls" in trace.issues
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "no span of its model calls arrived" in warning.getMessage()
    assert "RunConfig(tracing_disabled=True)" in warning.getMessage()
    caplog.clear()
    traced = OpenAIAgentsAdapter(team(llm), "team", sdk_telemetry)
    assert traced.run("Tell me about otel") == ANSWER
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
