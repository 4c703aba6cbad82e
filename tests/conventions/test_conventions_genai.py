"""GenAI-convention and OpenLLMetry reading rules, one at a time, on hand-built records.

Messages as the GenAI conventions write them (``gen_ai.*.messages``, role and parts) and as
OpenLLMetry does (flattened ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``) are read into
OpenAI's format field by field; a value of another type is coerced or rejected, each logged
once with its attribute path.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from support.value_log import chat_record, derive_logged, invoke_agent, record

from otel_bridge import derive
from otel_bridge.conventions import (
    LLMFacts,
    ToolFacts,
    ValueNotes,
    activation_agent,
    explicit_agent,
    handoff_target,
    json_value,
    parse_json,
    read_llm,
    read_tool,
)
from otel_bridge.conventions import genai_attributes as g
from otel_bridge.errors import JsonTooDeep, SpanFormatError
from otel_bridge.run_trace import TokenUsage
from otel_bridge.spans import SpanEvent, SpanRecord

MS = 1_000_000


def test_time_to_first_chunk_and_finish_reason_in_openai_words() -> None:
    run = derive(
        [
            invoke_agent(1, None, "solo", 0, 100),
            chat_record(
                2, 1, 10, 90, {g.TIME_TO_FIRST_CHUNK: 0.025, g.FINISH_REASONS: ("tool_call",)}
            ),
        ]
    )
    (call,) = run.llm_calls
    assert call.time_to_first_token_ns == 25 * MS
    assert call.finish_reason == "tool_calls"
    assert call.duration_ns == 80 * MS  # a GenAI chat span lasts as long as the stream
    assert call.agent == "solo"


def test_invoke_agent_spans_are_the_agent_time_when_there_are_no_finer_steps() -> None:
    run = derive(
        [
            record(1, None, "invoke_workflow team", 0, 300, {g.OPERATION: "invoke_workflow"}),
            invoke_agent(2, 1, "a", 0, 100),
            chat_record(3, 2, 10, 40),
            invoke_agent(4, 1, "b", 120, 300),
            chat_record(5, 4, 150, 200),
        ]
    )
    assert run.timings.per_agent_ns == {"a": 100 * MS, "b": 180 * MS}
    assert [c.agent for c in run.llm_calls] == ["a", "b"]


def test_a_failed_tool_reads_as_type_and_message_without_an_exception_event() -> None:
    tool = record(
        3,
        1,
        "execute_tool explode",
        10,
        20,
        {
            g.OPERATION: "execute_tool",
            g.TOOL_NAME: "explode",
            g.TOOL_CALL_ID: "call_1",
            g.TOOL_CALL_ARGUMENTS: '{"reason": "x"}',
            g.TOOL_CALL_RESULT: "tool exploded: x",
            g.ERROR_TYPE: "RuntimeError",
        },
        status="ERROR",
        status_message="tool exploded: x",
    )
    run = derive([invoke_agent(1, None, "solo", 0, 100), chat_record(2, 1, 0, 5), tool])
    (call,) = run.tool_calls
    assert (call.error, call.output, call.arguments) == (
        "RuntimeError: tool exploded: x",
        None,
        {"reason": "x"},
    )


def test_a_run_whose_last_model_call_failed_is_an_error_even_if_no_root_says_so() -> None:
    failed = record(3, 1, "openai.chat", 50, 60, {g.OPERATION: "chat"}, status="ERROR")
    run = derive([record(1, None, "Agent.workflow", 0, 100), chat_record(2, 1, 0, 10), failed])
    assert run.status == "error"
    assert run.output is None


def test_openllmetry_tasks_carry_the_agent_their_earlier_siblings_named() -> None:
    def task(
        span_id: int, start: float, end: float, output: Any = None, **extra: Any
    ) -> SpanRecord:
        attributes: dict[str, Any] = {g.TRACELOOP_SPAN_KIND: "task", **extra}
        if output is not None:
            attributes[g.TRACELOOP_OUTPUT] = json.dumps(output)
        return record(span_id, 1, "AgentWorkflow.task", start, end, attributes)

    tool_output = {
        "tool_id": "call_7",
        "tool_kwargs": {"to_agent": "writer", "reason": "ready"},
        "tool_output": {"blocks": [{"block_type": "text", "text": "Agent writer is now"}]},
    }
    spans = [
        record(1, None, "AgentWorkflow.workflow", 0, 100, {g.TRACELOOP_SPAN_KIND: "workflow"}),
        task(2, 1, 2, {"input": [], "current_agent_name": "researcher"}),
        task(3, 3, 20),  # run_agent_step: no output when streaming
        chat_record(4, 3, 4, 19),
        task(
            5,
            21,
            25,
            tool_output,
            **{"tool.name": "handoff", "tool.arguments": json.dumps(tool_output["tool_kwargs"])},
        ),
        task(6, 26, 27, {"input": [], "current_agent_name": "writer"}),
        task(7, 28, 60),
        chat_record(8, 7, 30, 59),
    ]
    run = derive(spans)
    assert [c.agent for c in run.llm_calls] == ["researcher", "writer"]
    assert [(t.agent, t.name, t.tool_call_id, t.output) for t in run.tool_calls] == [
        ("researcher", "handoff", "call_7", "Agent writer is now")
    ]
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("researcher", "writer", "ready")
    ]


def test_a_transfer_target_names_the_handoff_even_for_another_tool_name() -> None:
    transfer = record(
        3,
        2,
        "execute_tool transfer_to_writer writer",
        10,
        20,
        {
            g.OPERATION: "execute_tool",
            g.TOOL_NAME: "transfer_to_writer",
            g.TRANSFER_TARGET_NAME: "writer",
            g.TRANSFER_MODE: "pass_control",
        },
    )
    spans = [
        record(1, None, "invoke_workflow team", 0, 100, {g.OPERATION: "invoke_workflow"}),
        invoke_agent(2, 1, "researcher", 0, 25),
        chat_record(4, 2, 1, 9),
        transfer,
        invoke_agent(5, 1, "writer", 30, 100),
        chat_record(6, 5, 31, 90),
    ]
    run = derive(spans)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]


def test_openllmetrys_non_streaming_reasoning_tokens_are_counted() -> None:
    # OpenLLMetry writes a non-streamed call's reasoning tokens under its own name only.
    openllmetry = {g.REASONING_TOKENS_OPENLLMETRY: 7}
    both = {g.REASONING_TOKENS: 5, g.REASONING_TOKENS_OPENLLMETRY: 7}
    for extra, expected in ((openllmetry, 7), (both, 5), ({}, 0)):
        run = derive([invoke_agent(1, None, "solo", 0, 100), chat_record(2, 1, 10, 90, extra)])
        usage = run.usage
        assert (usage.output_tokens, usage.reasoning_tokens) == (10, expected), extra
        assert run.agents["solo"].usage.reasoning_tokens == expected


# ---- messages -----------------------------------------------------------------------------
SPAN = "span 0000000000000002 attribute"


def chat_run(attributes: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The messages and logged value problems of one chat span (span 2) of agent ``solo``."""
    chat = record(2, 1, "chat gpt-4o-mini", 10, 90, {g.PROMPT_TOKENS: 30, **attributes})
    run, problems = derive_logged([invoke_agent(1, None, "solo", 0, 100), chat])
    return [{k: v for k, v in m.items() if k != "agent"} for m in run.messages], problems


def call(call_id: str | None, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_openllmetry_flattened_messages_with_tool_calls_and_values_of_other_types() -> None:
    prompt, completion = "gen_ai.prompt", "gen_ai.completion"
    messages, problems = chat_run(
        {
            f"{prompt}.0.role": "system",
            f"{prompt}.0.content": "Be brief.",
            f"{prompt}.1.role": "user",
            f"{prompt}.1.content": 7,
            f"{prompt}.2.role": "tool",
            f"{prompt}.2.content": "sunny",
            f"{prompt}.2.tool_call_id": 12,
            f"{prompt}.3.role": "user",  # no content
            f"{prompt}.5.role": "user",  # after a gap: not read
            f"{prompt}.5.content": "unreachable",
            f"{completion}.0.role": "assistant",
            f"{completion}.0.content": "Looking.",
            f"{completion}.0.tool_calls.0.name": "search",
            f"{completion}.0.tool_calls.0.id": "call_1",
            f"{completion}.0.tool_calls.0.arguments": '{"q": "x"}',
            f"{completion}.0.tool_calls.1.name": "fetch",  # no id, no arguments
            f"{completion}.0.tool_calls.2.name": 5,
            f"{completion}.0.tool_calls.2.id": 9,
            f"{completion}.0.tool_calls.2.arguments": 3,
            f"{completion}.0.tool_calls.4.name": "unreachable",
            f"{completion}.1.content": "no role: the list ends before it",
        }
    )
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "7"},
        {"role": "tool", "content": "sunny", "tool_call_id": "12"},
        {"role": "user", "content": ""},
        {
            "role": "assistant",
            "content": "Looking.",
            "tool_calls": [
                call("call_1", "search", '{"q": "x"}'),
                call(None, "fetch", "{}"),
                call("9", "5", "3"),
            ],
        },
    ]
    assert problems == [
        f"{SPAN} gen_ai.prompt.1.content: coerced 7 (text)",
        f"{SPAN} gen_ai.prompt.2.tool_call_id: coerced 12 (text)",
        f"{SPAN} gen_ai.completion.0.tool_calls.2.name: coerced 5 (text)",
        f"{SPAN} gen_ai.completion.0.tool_calls.2.arguments: coerced 3 (text)",
        f"{SPAN} gen_ai.completion.0.tool_calls.2.id: coerced 9 (text)",
    ]


def test_a_role_that_is_not_text_ends_the_flattened_list() -> None:
    messages, problems = chat_run(
        {
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Hi",
            "gen_ai.prompt.1.role": ("user",),
            "gen_ai.prompt.1.content": "lost",
        }
    )
    assert messages == [{"role": "user", "content": "Hi"}]
    assert problems == [f"{SPAN} gen_ai.prompt.1.role: rejected ('user',) (text)"]


PARTS_INPUT = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {
        "role": "user",
        "parts": [{"type": "text", "content": "Weather?"}, {"type": "text", "content": "Paris."}],
    },
    {"parts": [{"type": "text", "content": "who said this?"}]},
    {
        "role": "assistant",
        "parts": [
            {"type": "tool_call", "id": "call_1", "name": "search", "arguments": {"q": "x"}},
            {"type": "tool_call", "id": 7, "name": 8, "arguments": '{"u": 1}'},
        ],
    },
    {
        "role": "tool",
        "parts": [
            {"type": "tool_call_response", "id": "call_1", "response": {"t": 20}},
            {"type": "tool_call_response", "id": 70, "response": "fine"},
        ],
    },
    {
        "role": "user",
        "parts": [
            {"type": "tool_call_response", "id": "call_2", "response": "ok"},
            {"type": "text", "content": "thanks"},
        ],
    },
    {"role": "user", "parts": [{"type": "text"}]},
    {"role": "user", "parts": [{"type": "text", "content": 5}]},
    "not a message",
    {"role": "user", "parts": "not a list"},
    {"role": "user", "parts": [3, {"type": "text", "content": "after a bad part"}]},
    {"role": ["x"], "parts": [{"type": "image", "content": "skipped"}]},
]


def test_messages_in_parts_every_field_and_every_entry_of_the_wrong_shape() -> None:
    messages, problems = chat_run(
        {
            g.INPUT_MESSAGES: json.dumps(PARTS_INPUT),
            g.OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}]}]
            ),
        }
    )
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?\nParis."},
        {"role": "user", "content": "who said this?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [call("call_1", "search", '{"q": "x"}'), call("7", "8", '{"u": 1}')],
        },
        {"role": "tool", "content": '{"t": 20}', "tool_call_id": "call_1", "name": "search"},
        {"role": "tool", "content": "fine", "tool_call_id": "70"},
        {"role": "tool", "content": "ok", "tool_call_id": "call_2"},
        {"role": "user", "content": "thanks"},
        {"role": "user", "content": ""},
        {"role": "user", "content": "5"},
        {"role": "user", "content": ""},
        {"role": "user", "content": "after a bad part"},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": "Sunny."},
    ]
    where = f"{SPAN} gen_ai.input.messages"
    assert problems == [
        f"{where}[3].parts[1].id: coerced 7 (text)",
        f"{where}[3].parts[1].name: coerced 8 (text)",
        f"{where}[4].parts[1].id: coerced 70 (text)",
        f"{where}[7].parts[0].content: coerced 5 (text)",
        f"{where}[8]: rejected 'not a message' (a message is a JSON object)",
        f"{where}[9].parts: rejected 'not a list' (message parts are a JSON list)",
        f"{where}[10].parts[0]: rejected 3 (a message part is a JSON object)",
        f"{where}[11].role: rejected ['x'] (text)",
    ]


def test_message_attributes_that_are_not_a_json_list_of_messages_are_rejected() -> None:
    rule = "JSON of the expected shape, at most 100 levels deep"
    for raw, shown in [
        ('{"role": "user"}', '\'{"role": "user"}\''),
        ("not JSON", "'not JSON'"),
        (12, "12"),
        ("[" * 101 + "]" * 101, "'" + "[" * 76 + "..."),
    ]:
        messages, problems = chat_run(
            {
                g.INPUT_MESSAGES: raw,
                g.OUTPUT_MESSAGES: '[{"role": "assistant", "parts": []}]',
            }
        )
        assert messages == [{"role": "assistant", "content": ""}], raw
        assert problems == [f"{SPAN} gen_ai.input.messages: rejected {shown} ({rule})"], raw


# ---- the conventions' readers, fact by fact ------------------------------------------------

S = 1_000_000_000
CHUNK = "gen_ai.content.completion.chunk"  # OpenLLMetry: one event per streamed chunk


def facts_of(
    read: Any, spans: list[SpanRecord]
) -> tuple[list[Any], list[tuple[str, str, str, str]]]:
    """What ``read`` (conventions.read_llm or read_tool) says of each span, and the problems."""
    notes = ValueNotes()
    facts = [read(s, notes) for s in spans]
    return facts, [(p.attribute, p.action, p.value, p.rule) for p in notes.problems]


def test_genai_model_calls_read_field_by_field() -> None:
    parts = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": 9}]}])
    first = record(
        1,
        None,
        "chat",
        10,
        90,
        {
            g.OPERATION: "chat",
            g.RESPONSE_MODEL: 4,
            g.REQUEST_MODEL: "gpt-4o-mini",
            g.PROVIDER: 6,
            g.SYSTEM: "openai",
            g.INPUT_TOKENS: "30",
            g.OUTPUT_TOKENS: "5",
            g.CACHE_READ_TOKENS: "2",
            g.REASONING_TOKENS: "1",
            g.FINISH_REASONS: ("stop", "tool_call"),
            g.TIME_TO_FIRST_CHUNK: 2.0,
            g.INPUT_MESSAGES: "[]",
            g.OUTPUT_MESSAGES: parts,
        },
    )
    chunks = (SpanEvent("gen_ai.content.prompt", 11 * MS), SpanEvent(CHUNK, 12 * MS))
    second = record(
        2,
        None,
        "openai.chat",
        10,
        90,
        {
            g.REQUEST_MODEL: 5,
            g.SYSTEM: 7,
            g.PROMPT_TOKENS: 10,
            g.FINISH_REASONS: 3,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": 1,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": 2,
        },
        events=chunks,
    )
    third = record(3, None, "chat", 10, 90, {g.OPERATION: "chat", g.OUTPUT_TOKENS: 4})
    facts, problems = facts_of(read_llm, [first, second, third])
    assert facts == [
        LLMFacts(
            model="4",
            provider="6",
            usage=TokenUsage(30, 5, 35, 2, 1),
            input_messages=[],
            output_messages=[{"role": "assistant", "content": "9"}],
            finish_reason="tool_calls",
            first_token_ns=10 * MS + 2 * S,
            ends_early=False,
            convention="genai",
        ),
        LLMFacts(
            model="5",
            provider="7",
            usage=TokenUsage(10, 0, 10, 0, 0),
            input_messages=[{"role": "user", "content": "1"}],
            output_messages=[{"role": "assistant", "content": "2"}],
            finish_reason="3",
            first_token_ns=12 * MS,
            ends_early=False,
            convention="genai",
        ),
        LLMFacts(
            model=None,
            provider=None,
            usage=TokenUsage(0, 4, 4, 0, 0),
            input_messages=[],
            output_messages=[],
            finish_reason=None,
            first_token_ns=None,
            ends_early=False,
            convention="genai",
        ),
    ]
    count_rule = "a token count is an integer from 0 to 2**63-1"
    assert problems == [
        ("gen_ai.output.messages[0].parts[0].content", "coerced", "9", "text"),
        (g.RESPONSE_MODEL, "coerced", "4", "text"),
        (g.PROVIDER, "coerced", "6", "text"),
        (g.INPUT_TOKENS, "coerced", "'30'", count_rule),
        (g.OUTPUT_TOKENS, "coerced", "'5'", count_rule),
        (g.CACHE_READ_TOKENS, "coerced", "'2'", count_rule),
        (g.REASONING_TOKENS, "coerced", "'1'", count_rule),
        ("gen_ai.prompt.0.content", "coerced", "1", "text"),
        ("gen_ai.completion.0.content", "coerced", "2", "text"),
        (g.REQUEST_MODEL, "coerced", "5", "text"),
        (g.SYSTEM, "coerced", "7", "text"),
        (g.FINISH_REASONS, "coerced", "3", "text"),
    ]


def tool_span(span_id: int, attributes: dict[str, Any], **kwargs: Any) -> SpanRecord:
    return record(span_id, None, f"tool-span-{span_id}", 10, 20, attributes, **kwargs)


def exception(kind: Any, message: Any) -> SpanEvent:
    attributes = {"exception.type": kind, "exception.message": message}
    return SpanEvent("exception", 15 * MS, MappingProxyType(attributes))


def test_genai_execute_tool_spans_read_field_by_field() -> None:
    tool = {g.OPERATION: "execute_tool"}
    spans = [
        tool_span(
            1,
            {
                **tool,
                g.TOOL_NAME: 5,
                g.TOOL_CALL_ID: 6,
                g.TOOL_CALL_ARGUMENTS: '{"a": 1}',
                g.TOOL_CALL_RESULT: 42,
            },
        ),
        tool_span(
            2,
            {
                **tool,
                g.TOOL_CALL_ARGUMENTS: "not JSON",
                g.TOOL_CALL_RESULT: "boom",
                g.ERROR_TYPE: 3,
            },
            status="ERROR",
            status_message="boom",
        ),
        tool_span(
            3,
            {**tool, g.TOOL_CALL_RESULT: ["x"], g.ERROR_TYPE: "pkg.mod.ValueError"},
            status="ERROR",
            status_message="bad value",
        ),
        tool_span(
            4,
            {**tool, g.ERROR_TYPE: "KeyError", g.TOOL_CALL_ARGUMENTS: {"a": 1}},
            status="ERROR",
            status_message="as the status says",
            events=(exception("KeyError", 7),),
        ),
    ]
    facts, problems = facts_of(read_tool, spans)
    assert facts == [
        ToolFacts(name="5", arguments={"a": 1}, output="42", tool_call_id="6", error=None),
        ToolFacts(name="tool-span-2", arguments="not JSON", output=None, tool_call_id=None,
                  error="3: boom"),
        ToolFacts(name="tool-span-3", arguments=None, output=None, tool_call_id=None,
                  error="ValueError: bad value"),
        ToolFacts(name="tool-span-4", arguments=None, output=None, tool_call_id=None,
                  error="KeyError: 7"),
    ]  # fmt: skip
    assert problems == [
        (g.TOOL_CALL_RESULT, "coerced", "42", "text"),
        (g.TOOL_NAME, "coerced", "5", "text"),
        (g.TOOL_CALL_ID, "coerced", "6", "text"),
        (g.ERROR_TYPE, "coerced", "3", "text"),
        (g.TOOL_CALL_RESULT, "rejected", "['x']", "text"),
        ("exception.message", "coerced", "7", "text"),
        (g.TOOL_CALL_ARGUMENTS, "rejected", "{'a': 1}", "text"),
    ]


def test_openllmetry_call_tool_tasks_read_field_by_field() -> None:
    def task(span_id: int, output: Any = None, **attributes: Any) -> SpanRecord:
        attrs: dict[str, Any] = {g.TRACELOOP_SPAN_KIND: "task", "tool.name": "search"}
        attrs.update({k.replace("__", "."): v for k, v in attributes.items()})
        if output is not None:
            attrs[g.TRACELOOP_OUTPUT] = (
                output if isinstance(output, str | int) else json.dumps(output)
            )
        status = attrs.pop("status", "UNSET")
        events = attrs.pop("events", ())
        return tool_span(span_id, attrs, status=status, status_message="boom", events=events)

    blocks = [{"text": "a"}, "junk", {"block_type": "image"}, {"text": "b"}]
    failed = {"tool_id": 7, "tool_kwargs": {"a": 1}, "tool_output": {"blocks": [{"text": "bad"}]}}
    failed["tool_output"]["is_error"] = True  # type: ignore[index]
    raised = (exception(None, "oops"),)
    spans = [
        task(
            1, {"tool_id": "call_1", "tool_output": {"blocks": blocks}}, tool__arguments='{"q": 1}'
        ),
        task(2, failed),
        task(3, status="ERROR", tool__name=5),
        task(4, '["a list"]'),
        task(5, 12),
        task(6, {"tool_output": {"is_error": True}}),
        task(7, {"tool_output": {"blocks": "none"}}, status="ERROR", events=raised),
        task(8, "not JSON", tool__arguments=3),
    ]
    facts, problems = facts_of(read_tool, spans)
    assert facts == [
        ToolFacts("search", {"q": 1}, "ab", "call_1", None),
        ToolFacts("search", {"a": 1}, None, "7", "bad"),
        ToolFacts("5", None, None, None, "boom"),
        ToolFacts("search", None, None, None, None),
        ToolFacts("search", None, None, None, None),
        ToolFacts("search", None, None, None, "tool reported an error"),
        ToolFacts("search", None, None, None, "oops"),
        ToolFacts("search", "3", None, None, None),
    ]
    where = g.TRACELOOP_OUTPUT
    assert problems == [
        (f"{where} tool_id", "coerced", "7", "text"),
        ("tool.name", "coerced", "5", "text"),
        (where, "rejected", "12", "JSON of the expected shape, at most 100 levels deep"),
        ("tool.arguments", "coerced", "3", "text"),
    ]


# ---- value rules at their bounds -----------------------------------------------------------

MAX_COUNT = 2**63 - 1
COUNT_RULE = "a token count is an integer from 0 to 2**63-1"


class Count(int):
    """An int of another type, as a caller building SpanRecords may hold (an IntEnum, say)."""


def test_token_counts_at_the_bounds_of_the_rule() -> None:
    cases: list[tuple[Any, int | None]] = [
        (MAX_COUNT, MAX_COUNT),
        (str(MAX_COUNT), MAX_COUNT),
        (str(MAX_COUNT + 1), None),
        ("9" * 19, None),
        (0.0, 0),
        (Count(0), 0),
        (Count(MAX_COUNT), MAX_COUNT),
        (10**5000, None),
    ]
    spans = [
        record(
            i, None, "chat", 0, 1, {g.OPERATION: "chat", g.INPUT_TOKENS: value, g.OUTPUT_TOKENS: 1}
        )
        for i, (value, _) in enumerate(cases, 1)
    ]
    facts, problems = facts_of(read_llm, spans)
    assert [f.usage.input_tokens if f.usage else None for f in facts] == [n for _, n in cases]
    assert problems == [
        (g.INPUT_TOKENS, "coerced", repr(str(MAX_COUNT)), COUNT_RULE),
        (g.INPUT_TOKENS, "rejected", repr(str(MAX_COUNT + 1)), COUNT_RULE),
        (g.INPUT_TOKENS, "rejected", repr("9" * 19), COUNT_RULE),
        (g.INPUT_TOKENS, "coerced", "0.0", COUNT_RULE),
        (g.INPUT_TOKENS, "coerced", "0", COUNT_RULE),
        (g.INPUT_TOKENS, "coerced", str(MAX_COUNT), COUNT_RULE),
        (g.INPUT_TOKENS, "rejected", "<int>", COUNT_RULE),
    ]


def test_a_value_shown_in_a_problem_is_cut_at_80_characters() -> None:
    values = ["x" * 78, "x" * 79, "y" * 200]  # a repr of 80, 81 and 202 characters
    spans = [
        record(i, None, "chat", 0, 1, {g.OPERATION: "chat", g.INPUT_TOKENS: v, g.OUTPUT_TOKENS: 1})
        for i, v in enumerate(values, 1)
    ]
    _, problems = facts_of(read_llm, spans)
    assert [p[2] for p in problems] == [
        repr("x" * 78),
        "'" + "x" * 76 + "...",
        "'" + "y" * 76 + "...",
    ]


def test_time_to_first_chunk_at_the_bounds_of_the_rule() -> None:
    largest = 1.7976931348623157e299  # seconds whose nanoseconds are the largest float
    cases: list[tuple[Any, int | None]] = [
        (0, 10 * MS),
        (0.0, 10 * MS),
        (largest, 10 * MS + round(largest * 1e9)),
        (-1, None),
        (float("inf"), None),
        (True, None),
    ]
    spans = [
        record(i, None, "chat", 10, 90, {g.OPERATION: "chat", g.TIME_TO_FIRST_CHUNK: value})
        for i, (value, _) in enumerate(cases, 1)
    ]
    facts, problems = facts_of(read_llm, spans)
    assert [f.first_token_ns for f in facts] == [ns for _, ns in cases]
    rule = "a duration is a finite number of seconds >= 0"
    assert problems == [
        (g.TIME_TO_FIRST_CHUNK, "rejected", "-1", rule),
        (g.TIME_TO_FIRST_CHUNK, "rejected", "inf", rule),
        (g.TIME_TO_FIRST_CHUNK, "rejected", "True", rule),
    ]


def nested(depth: int) -> str:
    """JSON ``depth`` levels deep with more than 100 brackets in all, and a scalar last."""
    return "[" * depth + "]" * (depth - 1) + ', [], {"k": [1]}, 2]'


def test_json_depth_is_counted_exactly() -> None:
    assert parse_json(nested(100))[-1] == 2
    assert parse_json('{"a": ' + nested(99) + "}")["a"][-1] == 2
    for deep in (nested(101), '{"a": ' + nested(100) + "}"):
        with pytest.raises(JsonTooDeep, match=r"^JSON nested deeper than 100 levels$"):
            parse_json(deep)
    with pytest.raises(SpanFormatError, match=r"^NaN is not JSON$"):
        parse_json("[NaN]")


def test_a_transfer_names_its_target_in_either_spelling() -> None:
    spans = [
        record(1, None, "t", 0, 1, {g.TRANSFER_TARGET_NAME: 5}),
        record(2, None, "t", 0, 1, {g.TRANSFER_TARGET_NAME: "", g.HANDOFF_TARGET: "writer"}),
        record(3, None, "t", 0, 1, {g.TOOL_NAME: "transfer_to_writer"}),
    ]
    targets, problems = facts_of(handoff_target, spans)
    assert targets == ["5", "writer", None]
    assert problems == [(g.TRANSFER_TARGET_NAME, "coerced", "5", "text")]
    assert [handoff_target(s) for s in spans] == targets  # without notes, the same


def test_the_readers_read_the_same_without_notes() -> None:
    chat = record(1, None, "chat", 0, 1, {g.OPERATION: "chat", g.REQUEST_MODEL: 4})
    tool = record(2, None, "t", 0, 1, {g.OPERATION: "execute_tool", g.TOOL_NAME: 5})
    openllmetry = record(3, None, "t", 0, 1, {g.TRACELOOP_SPAN_KIND: "task", "tool.name": 6})
    assert read_llm(chat).model == "4"
    assert [read_tool(tool).name, read_tool(openllmetry).name] == ["5", "6"]


def test_agents_named_by_either_convention() -> None:
    spans = [
        record(1, None, "a", 0, 1, {"agent.name": 5}),
        record(2, None, "a", 0, 1, {"agent.name": "", "graph.node.name": "node"}),
        record(3, None, "a", 0, 1, {g.AGENT_NAME: 6}),
        record(4, None, "a", 0, 1, {g.OPERATION: g.OP_INVOKE_AGENT, g.AGENT_NAME: 7}),
        record(5, None, "a", 0, 1, {g.OPERATION: "chat", g.AGENT_NAME: "not an activation"}),
    ]
    named, problems = facts_of(explicit_agent, spans)
    assert named == ["5", "node", "6", "7", "not an activation"]
    activations, again = facts_of(activation_agent, spans)
    assert activations == [None, None, None, "7", None]
    assert problems == [
        ("agent.name", "coerced", "5", "text"),
        (g.AGENT_NAME, "coerced", "6", "text"),
        (g.AGENT_NAME, "coerced", "7", "text"),
    ]
    assert again == [(g.AGENT_NAME, "coerced", "7", "text")]
    assert [explicit_agent(s) for s in spans] == named  # without notes, the same
    assert [activation_agent(s) for s in spans] == activations


def test_json_values_say_whether_they_are_json() -> None:
    assert json_value(5, "x", None, text_ok=True) == ("5", False)
    assert json_value("not JSON", "x", None, text_ok=True) == ("not JSON", False)
    assert json_value('{"a": 1}', "x", None, text_ok=True) == ({"a": 1}, True)
    with pytest.raises(SpanFormatError, match=r"^not JSON: Expecting value"):
        parse_json("{'a': 1}"[1:])
    with pytest.raises(JsonTooDeep, match=r"^JSON nested deeper than 100 levels$"):
        parse_json("[" * 100_000 + "]" * 100_000)  # deeper than Python's parser goes
    objects = '{"a": ' * 101 + "1" + "}" * 101
    with pytest.raises(JsonTooDeep):
        parse_json(objects)


def test_entries_of_the_wrong_shape_are_skipped_without_notes_too() -> None:
    chat = record(
        1, None, "chat", 0, 1, {g.OPERATION: "chat", g.INPUT_MESSAGES: '{"role": "user"}'}
    )
    assert read_llm(chat).input_messages == []
    deep = '{"a": ' * 101 + "1" + "}" * 101
    failed = (exception("ValueError", 8),)
    task = {g.TRACELOOP_SPAN_KIND: "task", "tool.name": "f"}
    tasks = [
        record(2, None, "t", 0, 1, {**task, g.TRACELOOP_OUTPUT: deep}),
        record(3, None, "t", 0, 1, task, status="ERROR", events=failed),
    ]
    facts, problems = facts_of(read_tool, tasks)
    assert [(f.output, f.error) for f in facts] == [(None, None), (None, "ValueError: 8")]
    rule = "JSON of the expected shape, at most 100 levels deep"
    assert problems == [
        (g.TRACELOOP_OUTPUT, "rejected", shown_of(deep), rule),
        ("exception.message", "coerced", "8", "text"),
    ]


def shown_of(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
