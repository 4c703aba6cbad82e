"""The scripted OpenAI-compatible server, driven by the real LlamaIndex OpenAI client and agents."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

import httpx
import openai
import pytest
from llama_index.core.agent.workflow import CodeActAgent, FunctionAgent, ReActAgent
from llama_index.core.llms import ChatMessage

from otel_bridge.scripted import (
    ConversationRouter,
    Exchange,
    Reply,
    ReplyQueue,
    ScriptedLLMServer,
    ScriptError,
    ToolCallSpec,
    Usage,
    codeact_execute,
    demo_script,
    estimate_usage,
    react_action,
    react_answer,
    scripted_openai_llm,
)


@pytest.fixture
def server(llm: ScriptedLLMServer) -> ScriptedLLMServer:
    """The session's scripted server (conftest), with an empty log and no leftover script."""
    llm.set_script([])
    return llm


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def search(query: str) -> str:
    """Search the web for a query."""
    return f"Notes on {query}: spans carry tokens, timings and handoffs."


def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def by_role(exchange: Exchange, role: str) -> list[Any]:
    return [message for message in exchange.messages if message.get("role") == role]


# ----------------------------------------------------------------------------- real agents


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_two_tool_calls_in_one_reply(
    server: ScriptedLLMServer, streaming: bool
) -> None:
    server.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("add", {"a": 2, "b": 3}),
                    ToolCallSpec("multiply", {"a": 4, "b": 5}),
                ]
            ),
            Reply(content="2 + 3 = 5 and 4 * 5 = 20."),
        ]
    )
    agent = FunctionAgent(
        tools=[add, multiply],
        llm=scripted_openai_llm(server),
        system_prompt="You do arithmetic.",
        streaming=streaming,
    )
    answer = await agent.run(user_msg="What are 2 + 3 and 4 * 5?")

    assert str(answer) == "2 + 3 = 5 and 4 * 5 = 20."
    first, second = server.log
    assert first.streamed is streaming and second.streamed is streaming
    assert first.request_json["model"] == "gpt-4o-mini"
    assert {tool["function"]["name"] for tool in first.request_json["tools"]} == {
        "add",
        "multiply",
    }
    (assistant,) = by_role(second, "assistant")
    assert [call["id"] for call in assistant["tool_calls"]] == list(first.tool_call_ids)
    assert [json.loads(call["function"]["arguments"]) for call in assistant["tool_calls"]] == [
        {"a": 2, "b": 3},
        {"a": 4, "b": 5},
    ]
    results = {m["tool_call_id"]: m["content"] for m in by_role(second, "tool")}
    assert results == dict(zip(first.tool_call_ids, ["5", "20"], strict=True))
    # Agents stream by default and the client asks for no usage: none is sent then.
    for exchange in server.log:
        assert exchange.usage is not None and exchange.usage.prompt > 0
        assert exchange.usage_sent == (None if streaming else exchange.usage)


async def test_streaming_usage_only_with_include_usage(server: ScriptedLLMServer) -> None:
    usage = Usage(prompt=120, completion=7, cached=64, reasoning=3)
    server.set_script([Reply(content="hello there", usage=usage)] * 2)
    messages = [ChatMessage(role="user", content="hi")]

    for include_usage in (False, True):
        llm = scripted_openai_llm(server, include_usage=include_usage)
        chunks = [chunk async for chunk in await llm.astream_chat(messages)]
        assert chunks[-1].message.content == "hello there"
        counts = [chunk.additional_kwargs for chunk in chunks if chunk.additional_kwargs]
        if include_usage:
            assert counts == [{"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}]
            raw_usage = chunks[-1].raw.usage
            assert raw_usage.prompt_tokens_details.cached_tokens == 64
            assert raw_usage.completion_tokens_details.reasoning_tokens == 3
        else:
            assert counts == []

    without, with_usage = server.log
    assert without.usage_sent is None and with_usage.usage_sent == usage
    assert with_usage.request_json["stream_options"] == {"include_usage": True}
    assert server.usage_sent_total() == usage


@pytest.mark.parametrize("streaming", [True, False])
async def test_react_agent(server: ScriptedLLMServer, streaming: bool) -> None:
    server.set_script(
        [Reply(content=react_action("add", {"a": 20, "b": 22})), Reply(content=react_answer("42"))]
    )
    agent = ReActAgent(tools=[add], llm=scripted_openai_llm(server), streaming=streaming)
    answer = await agent.run(user_msg="What is 20 + 22?")

    assert str(answer) == "42"
    first, second = server.log
    assert first.streamed is streaming and second.streamed is streaming
    assert "tools" not in first.request_json  # ReAct describes tools in its system prompt
    assert by_role(second, "assistant")[0]["content"].startswith("Thought: I need to use")
    assert by_role(second, "user")[-1]["content"] == "Observation: 42"


@pytest.mark.parametrize("streaming", [True, False])
async def test_agent_workflow_demo_handoff(server: ScriptedLLMServer, streaming: bool) -> None:
    demo = demo_script()
    server.set_script(demo.router())
    workflow = demo.workflow(
        scripted_openai_llm(server, include_usage=True), search=search, word_count=word_count
    )
    for agent in workflow.agents.values():
        agent.streaming = streaming
    answer = await workflow.run(user_msg=demo.user_msg)

    assert str(answer) == demo.answer
    log = server.log
    assert [(exchange.status, exchange.streamed) for exchange in log] == [(200, streaming)] * 4
    prompts = [exchange.messages[0]["content"] for exchange in log]
    assert prompts == [demo.researcher_prompt] * 2 + [demo.writer_prompt] * 2
    assert [exchange.usage_sent for exchange in log] == [reply.usage for reply in demo.replies]
    # Each tool result appears in the next request, after a handoff in the writer's request.
    tool_messages = by_role(log[3], "tool")
    assert [m["tool_call_id"] for m in tool_messages] == [e.tool_call_ids[0] for e in log[:3]]
    assert tool_messages[0]["content"].startswith(f"Notes on {demo.query}")
    assert tool_messages[1]["content"].startswith("Agent writer is now handling the request")
    assert tool_messages[2]["content"] == str(word_count(demo.answer))


async def test_codeact_agent(server: ScriptedLLMServer) -> None:
    async def execute(code: str) -> dict[str, Any]:
        return {"output": "6"}

    server.set_script([Reply(content=codeact_execute("print(1 + 2 + 3)")), Reply(content="6")])
    agent = CodeActAgent(code_execute_fn=execute, llm=scripted_openai_llm(server))
    assert str(await agent.run(user_msg="Add 1, 2 and 3.")) == "6"
    assert "<execute>" in by_role(server.log[1], "assistant")[0]["content"]
    assert "'output': '6'" in by_role(server.log[1], "user")[-1]["content"]


async def test_concurrent_runs_get_their_own_replies(server: ScriptedLLMServer) -> None:
    def script(task: str, a: int, b: int) -> list[Reply]:
        return [
            Reply(tool_calls=[ToolCallSpec("add", {"a": a, "b": b})], delay_s=0.02),
            Reply(content=f"{task}: {a + b}"),
        ]

    server.set_script(
        ConversationRouter({"task-1": script("task-1", 1, 2), "task-2": script("task-2", 3, 4)})
    )

    async def run(task: str) -> str:
        agent = FunctionAgent(tools=[add], llm=scripted_openai_llm(server))
        return str(await agent.run(user_msg=f"Solve {task} please."))

    answers = await asyncio.gather(*(run(task) for task in ["task-1", "task-2"] * 3))
    assert answers == ["task-1: 3", "task-2: 7"] * 3

    thread_answers: list[str] = []
    threads = [
        threading.Thread(target=lambda t=task: thread_answers.append(asyncio.run(run(t))))
        for task in ["task-1", "task-2"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(thread_answers) == ["task-1: 3", "task-2: 7"]
    ids = [call_id for exchange in server.log for call_id in exchange.tool_call_ids]
    assert len(ids) == 8 == len(set(ids))  # unique across identical conversations


async def test_reply_for_the_wrong_agent_is_a_400_script_error(server: ScriptedLLMServer) -> None:
    server.set_script([Reply(content="hi", agent="You are the writer")])
    agent = FunctionAgent(tools=[add], llm=scripted_openai_llm(server), system_prompt="Researcher.")
    with pytest.raises(openai.BadRequestError, match="scripted for agent"):
        await agent.run(user_msg="hello")
    (exchange,) = server.log
    assert exchange.status == 400 and exchange.reply is None
    assert exchange.error is not None and "You are the writer" in exchange.error


async def test_http_500_with_retries_off(server: ScriptedLLMServer) -> None:
    server.set_script([Reply(status=500)])
    llm = scripted_openai_llm(server)
    with pytest.raises(openai.InternalServerError):
        await llm.achat([ChatMessage(role="user", content="hi")])
    (exchange,) = server.log
    assert exchange.status == 500 and exchange.usage_sent is None


# ----------------------------------------------------------------------------- raw wire format


def sse_payloads(text: str) -> list[str]:
    events = text.split("\n\n")
    assert events[-1] == ""
    assert all(event.startswith("data: ") for event in events[:-1])
    return [event.removeprefix("data: ") for event in events[:-1]]


@pytest.mark.parametrize("include_usage", [False, True])
def test_sse_wire_format(server: ScriptedLLMServer, include_usage: bool) -> None:
    reply = Reply(
        content="Let me check.",
        tool_calls=[ToolCallSpec("add", {"a": 1, "b": 2}), ToolCallSpec("noop", {}, id="call_x")],
        usage=Usage(prompt=31, completion=9),
    )
    server.set_script([reply])
    request: dict[str, Any] = {"model": "gpt-4o-mini", "stream": True, "messages": []}
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    response = httpx.post(f"{server.base_url}/chat/completions", json=request)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert all(chunk["model"] == "gpt-4o-mini" for chunk in chunks)
    assert all(("usage" in chunk) is include_usage for chunk in chunks)
    usage_chunks = chunks[-1:] if include_usage else []
    choice_chunks = chunks[: len(chunks) - len(usage_chunks)]
    deltas = [chunk["choices"][0]["delta"] for chunk in choice_chunks]
    assert deltas[0] == {"role": "assistant", "content": "", "refusal": None}
    assert "".join(delta.get("content") or "" for delta in deltas) == "Let me check."
    calls = [delta["tool_calls"] for delta in deltas if "tool_calls" in delta]
    assert all(len(call) == 1 for call in calls)  # one tool-call delta per chunk
    openings = [call[0] for call in calls if "id" in call[0]]
    (exchange,) = server.log
    assert openings == [
        {"index": 0, "id": exchange.tool_call_ids[0], "type": "function",
         "function": {"name": "add", "arguments": ""}},
        {"index": 1, "id": "call_x", "type": "function",
         "function": {"name": "noop", "arguments": ""}},
    ]  # fmt: skip
    arguments = ["".join(c[0]["function"]["arguments"] for c in calls if c[0]["index"] == i)
                 for i in (0, 1)]  # fmt: skip
    assert arguments == ['{"a": 1, "b": 2}', "{}"]
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in choice_chunks]
    assert finishes == [None] * (len(finishes) - 1) + ["tool_calls"]
    assert deltas[-1] == {}
    wire_usage = {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}
    assert [chunk["usage"] for chunk in usage_chunks] == ([wire_usage] if include_usage else [])
    assert [chunk["choices"] for chunk in usage_chunks] == ([[]] if include_usage else [])
    assert exchange.usage_sent == (Usage(31, 9) if include_usage else None)


def test_json_wire_format_and_errors(server: ScriptedLLMServer) -> None:
    server.set_script(
        [
            Reply(content="plain"),
            Reply(tool_calls=[ToolCallSpec("add", '{"a": 1')], usage=Usage(10, 2, 4, 1)),
            Reply(status=500),
            Reply(status=429, error_body={"error": {"message": "slow down", "code": "rate"}}),
        ]
    )
    url = f"{server.base_url}/chat/completions"
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    plain, tool, error, limited, exhausted = (httpx.post(url, json=request) for _ in range(5))

    body = plain.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"]["content"] == "plain"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    body = tool.json()
    assert body["choices"][0]["message"]["content"] is None
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"a": 1'
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    assert error.status_code == 500 and error.json()["error"]["type"] == "server_error"
    assert limited.status_code == 429 and limited.json()["error"]["message"] == "slow down"
    assert exhausted.status_code == 400 and exhausted.json()["error"]["code"] == "script_error"
    assert [exchange.status for exchange in server.log] == [200, 200, 500, 429, 400]


# ----------------------------------------------------------------------------- scripts, lifecycle


def test_conversation_router_picks_by_marker_and_steps_by_assistant_turns() -> None:
    a, b, c, default = (Reply(content=text) for text in "abcd")
    router = ConversationRouter({"task 1": [a, b], "task 10": [c], "writer": [c], "": [default]})

    def request(user: str, system: str = "", assistants: int = 0) -> dict[str, Any]:
        history = [{"role": "assistant", "content": "x"}] * assistants
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return {"messages": [*messages, *history]}

    assert router(request("do task 1")) is a
    assert router(request("do task 1", assistants=1)) is b
    assert router(request("do task 10")) is c  # the longest marker wins
    assert router(request("hello", system="You are the writer.")) is c
    assert router(request("hello")) is default
    with pytest.raises(ScriptError, match="has 2 replies"):
        router(request("do task 1", assistants=2))
    with pytest.raises(ScriptError, match="no conversation marker"):
        ConversationRouter({"x": [a]})(request("hello"))
    queue = ReplyQueue([a])
    assert queue({}) is a and queue.remaining == 0
    with pytest.raises(ScriptError, match="exhausted"):
        queue({})


def test_estimated_usage_is_deterministic_and_nonzero() -> None:
    request = {"messages": [{"role": "user", "content": "x" * 400}]}
    reply = Reply(content="y" * 40)
    # 435 characters of JSON (the message, then "[]" for no tools) and 40 of reply, 4 a token
    assert estimate_usage(request, reply) == Usage(prompt=109, completion=11)
    assert estimate_usage({}, Reply()) == Usage(prompt=1 + len("[][]") // 4, completion=1)


def serving_threads() -> set[threading.Thread]:
    """The threads serving a scripted model right now (every such server names its thread)."""
    return {t for t in threading.enumerate() if t.name == "scripted-llm"}


def test_stop_joins_the_thread_and_releases_the_port() -> None:
    before = serving_threads()  # the session's server, and any other test's
    server = ScriptedLLMServer([Reply(content="ok")]).start()
    (thread,) = serving_threads() - before
    port = server.port
    assert server.base_url == f"http://127.0.0.1:{port}/v1"
    with httpx.Client() as client:  # a kept-alive connection must not block the stop
        assert client.post(f"{server.base_url}/chat/completions", json={}).status_code == 200
        server.stop()
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={})
    with socket.socket() as probe:  # REUSEADDR skips TIME_WAIT, but not a live listener
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = server.base_url
