"""The scripted server's Responses API (``POST /v1/responses``), driven by the real OpenAI client.

The OpenAI Agents SDK's default model speaks this API; the server reads each request as the
chat request it stands for, so the same scripts answer both APIs.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseCompletedEvent, ResponseFunctionToolCall

from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage
from otel_bridge.scripted._responses import chat_view

TOOLS = [
    {
        "type": "function",
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        "strict": False,
    }
]

# A second turn as the Agents SDK sends it: the model's text and two calls of one turn, their
# outputs, then the user again.
HISTORY: list[Any] = [
    {"role": "user", "content": "Find two things."},
    {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Looking.", "annotations": []}],
    },
    {"type": "function_call", "call_id": "c1", "name": "search", "arguments": '{"query": "a"}'},
    {"type": "function_call", "call_id": "c2", "name": "search", "arguments": '{"query": "b"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "A."},
    {"type": "function_call_output", "call_id": "c2", "output": "B."},
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Thanks; "},
            {"type": "input_text", "text": "more?"},
        ],
    },
]


@pytest.fixture
def client(llm: ScriptedLLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="fake", max_retries=0)


def test_a_request_reads_as_the_chat_request_it_stands_for() -> None:
    chat = chat_view({"model": "m", "instructions": "Be brief.", "input": HISTORY, "tools": TOOLS})
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Find two things."},
        {
            "role": "assistant",
            "content": "Looking.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "a"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "b"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "A."},
        {"role": "tool", "tool_call_id": "c2", "content": "B."},
        {"role": "user", "content": "Thanks; more?"},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Search the web.",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            },
        }
    ]
    assert chat_view({"input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]
    assert chat_view({"input": 7, "instructions": None})["messages"] == []


def test_a_reply_with_text_and_tool_calls_and_its_usage(
    llm: ScriptedLLMServer, client: openai.OpenAI
) -> None:
    llm.set_script(
        ConversationRouter(
            {
                "Find two": [
                    Reply(),  # the history's one assistant turn
                    Reply(
                        content="Two more.",
                        tool_calls=[ToolCallSpec("search", {"query": "c"}, id="c3")],
                        usage=Usage(120, 9, cached=64, reasoning=5),
                    ),
                ]
            }
        )
    )
    response = client.responses.create(
        model="gpt-4o-mini",
        instructions="Be brief.",
        input=HISTORY,
        tools=TOOLS,  # type: ignore[arg-type]
    )
    (exchange,) = llm.log
    assert exchange.api == "responses" and not exchange.streamed
    assert response.id == exchange.response_id
    assert response.output_text == "Two more."
    call = response.output[1]
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.call_id, call.name, call.arguments) == ("c3", "search", '{"query": "c"}')
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (120, 9)
    assert response.usage.input_tokens_details.cached_tokens == 64
    assert response.usage.output_tokens_details.reasoning_tokens == 5
    assert exchange.usage_sent == Usage(120, 9, cached=64, reasoning=5)
    assert [m["role"] for m in exchange.messages] == [
        "system", "user", "assistant", "tool", "tool", "user"
    ]  # fmt: skip


def test_a_stream_ends_with_the_whole_response_and_its_usage(
    llm: ScriptedLLMServer, client: openai.OpenAI
) -> None:
    llm.set_script(
        [Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(30, 4))]
    )
    stream: Any = client.responses.create(model="m", input="go", tools=TOOLS, stream=True)  # type: ignore[arg-type]
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    streamed = "".join(getattr(e, "delta", "") for e in events)
    assert streamed == '{"query": "otel"}'
    done = events[-1]
    assert isinstance(done, ResponseCompletedEvent)
    (exchange,) = llm.log
    (call,) = done.response.output
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.call_id == exchange.tool_call_ids[0]
    assert done.response.usage is not None
    # The Responses API always reports cached and reasoning counts: 0 when there are none.
    assert (done.response.usage.input_tokens, done.response.usage.output_tokens) == (30, 4)
    assert exchange.streamed and exchange.usage_sent == Usage(30, 4, cached=0, reasoning=0)


def test_a_streamed_text_arrives_in_order(llm: ScriptedLLMServer, client: openai.OpenAI) -> None:
    llm.set_script([Reply(content="Spans carry the tokens.", usage=Usage(10, 5))])
    with client.responses.stream(model="m", input="go") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Spans carry the tokens."
    assert len(deltas) == 2


def test_errors_reach_the_client_as_the_api_sends_them(
    llm: ScriptedLLMServer, client: openai.OpenAI
) -> None:
    llm.set_script([Reply(status=429)])
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="m", input="go")
    llm.set_script(ConversationRouter({"[known]": [Reply(content="x")]}))
    with pytest.raises(openai.BadRequestError, match="no conversation marker"):
        client.responses.create(model="m", input="go")
    assert [(e.api, e.status) for e in llm.log] == [("responses", 429), ("responses", 400)]


def test_a_previous_response_carries_its_conversation(
    llm: ScriptedLLMServer, client: openai.OpenAI
) -> None:
    """``previous_response_id``: the server holds the conversation, as the API does; the
    script sees it whole (its turns counted), the instructions are the new request's."""
    llm.set_script(
        ConversationRouter(
            {
                "Find two": [
                    Reply(tool_calls=[ToolCallSpec("search", {"query": "a"}, id="c1")]),
                    Reply(content="Found A."),
                    Reply(content="Nothing more."),
                ]
            }
        )
    )
    first = client.responses.create(model="m", instructions="v1", input="Find two things.")
    second = client.responses.create(
        model="m",
        instructions="v2",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "c1", "output": "A."}],
    )
    third = client.responses.create(
        model="m", previous_response_id=second.id, input="More?", store=False
    )
    assert (second.output_text, third.output_text) == ("Found A.", "Nothing more.")
    assert [(m["role"], m.get("content")) for m in llm.log[2].messages] == [
        ("user", "Find two things."),
        ("assistant", None),
        ("tool", "A."),
        ("assistant", "Found A."),
        ("user", "More?"),
    ]
    assert llm.log[1].messages[0] == {"role": "system", "content": "v2"}
    assert llm.log[1].messages[2]["tool_calls"][0]["id"] == "c1"
    with pytest.raises(openai.BadRequestError, match="not found"):  # store=False kept nothing
        client.responses.create(model="m", previous_response_id=third.id, input="And?")
    assert llm.log[-1].status == 400


def test_a_body_that_is_not_a_request_is_a_400_in_openais_words(llm: ScriptedLLMServer) -> None:
    url = f"{llm.base_url}/responses"
    not_json = httpx.post(url, content=b"{", headers={"content-type": "application/json"})
    not_object = httpx.post(url, json=["input"])
    assert (not_json.status_code, not_object.status_code) == (400, 400)
    assert not_json.json()["error"]["message"] == "the request body is not JSON"
    assert not_object.json()["error"]["type"] == "invalid_request_error"
    llm.set_script([Reply(content="ok")])
    odd = httpx.post(url, json={"model": "m", "input": [7, {"type": "unknown"}]}).json()
    assert odd["output"][0]["content"][0]["text"] == "ok"  # what is not conversation is skipped
