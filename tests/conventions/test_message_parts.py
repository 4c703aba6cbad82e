"""Messages sent as content parts (``message.contents``): images and audio carry no text, and
the text around them is kept whole.

On hand-built records, then through a real agent whose user message holds an image and an
audio clip: OpenInference writes an image part as ``type``/``image.image.url`` attributes and
an audio part as nothing at all (its index is skipped). Then OpenInference's readers field by
field: messages, tool calls (however numbered), model calls and tools, each value of another
type coerced or rejected and noted with its attribute.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import AudioBlock, ChatMessage, ImageBlock, TextBlock
from support.records import KIND, MS, TraceBuilder, assistant, tool_result
from support.runs import traced_run

from otel_bridge import SpanRecord, Telemetry, derive
from otel_bridge.conventions import ToolFacts, ValueNotes, _openinference, read_llm, read_tool
from otel_bridge.run_trace import TokenUsage
from otel_bridge.scripted import Reply, ScriptedLLMServer, Usage, scripted_openai_llm
from otel_bridge.spans import SpanEvent

PIXEL_URL = "data:image/png;base64,iVBORw0KGgo="
IMAGE_PART = {"type": "image", "image.image.url": PIXEL_URL}
# One red pixel: a real PNG, so the client can encode it as it would a photo.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WAV_HEADER = b"RIFF\x24\x00\x00\x00WAVEfmt "


def user_content(parts: list[object]) -> list[tuple[str, str]]:
    """Role and content of the messages derived from one call whose user message is ``parts``."""
    b = TraceBuilder()
    root = b.root()
    b.llm(b.step(root, "eye", 0, 50), 1, 10, [{"role": "user", "parts": parts}], [assistant("A.")])
    return [(m["role"], m["content"]) for m in derive(b.spans).messages]


def test_an_image_part_between_texts_leaves_both_texts() -> None:
    assert user_content(["What is in this picture?", IMAGE_PART, "Answer briefly."]) == [
        ("user", "What is in this picture?\nAnswer briefly."),
        ("assistant", "A."),
    ]


def test_a_message_of_only_an_image_is_kept_with_empty_text() -> None:
    assert user_content([IMAGE_PART]) == [("user", ""), ("assistant", "A.")]


def test_an_audio_part_written_as_a_type_only_is_skipped() -> None:
    audio = {"type": "audio"}
    assert user_content(["Transcribe:", audio, "then summarise."]) == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]


def test_a_part_with_no_attributes_loses_no_text_after_it() -> None:
    """What OpenInference writes for an audio part: nothing, its index skipped."""
    assert user_content(["Transcribe:", None, "then summarise."]) == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]


async def test_a_real_agent_sent_an_image_keeps_the_question(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script([Reply(content="A red pixel.", usage=Usage(85, 4))])
    agent = FunctionAgent(name="eye", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    question = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is in this picture?"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
            TextBlock(text="Answer briefly."),
        ],
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg=question))

    assert str(answer) == "A red pixel."
    (sent,) = llm.log[0].request_json["messages"]
    assert [part["type"] for part in sent["content"]] == ["text", "image_url", "text"]
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("user", "What is in this picture?\nAnswer briefly."),
        ("assistant", "A red pixel."),
    ]
    assert trace.input == "What is in this picture?\nAnswer briefly."
    assert (trace.usage.input_tokens, trace.issues) == (85, [])


async def test_a_real_agent_sent_audio_keeps_the_text_after_it(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script([Reply(content="A short beep.", usage=Usage(60, 4))])
    agent = FunctionAgent(name="ear", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    question = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What do you hear?"),
            AudioBlock(audio=WAV_HEADER, format="wav"),
            TextBlock(text="One sentence, please."),
        ],
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg=question))

    assert str(answer) == "A short beep."
    (sent,) = llm.log[0].request_json["messages"]
    assert [part["type"] for part in sent["content"]] == ["text", "input_audio", "text"]
    assert trace.input == "What do you hear?\nOne sentence, please."


@pytest.mark.parametrize("line_break", [False, True], ids=["keys as text", "key by key"])
def test_keys_a_producer_got_wrong_leave_the_parts_as_they_are(line_break: bool) -> None:
    """Part keys with a seven-digit index or a superscript digit (and one with a line break,
    which has the keys read one by one): the text of the real parts is read as before, and
    nothing raises."""
    base = "llm.input_messages.0.message.contents"
    odd = {
        f"{base}.1234567.message_content.text": "too long an index",
        f"{base}.\u00b2.message_content.text": "superscript two",
        "llm.input_messages.\u00b2.message.role": "user",
        "llm.input_messages.\u00b2.message.contents.0.message_content.text": "superscript two",
    }
    if line_break:
        odd[f"{base}.1.message_content.text\nx"] = "line break"
    b = TraceBuilder()
    root = b.root()
    b.llm(
        b.step(root, "eye", 0, 50),
        1,
        10,
        [{"role": "user", "parts": ["Transcribe:", None, "then summarise."]}],
        [assistant("A.")],
        extra=odd,
    )
    assert [(m["role"], m["content"]) for m in derive(b.spans).messages] == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]


# ---- OpenInference's readers, fact by fact -------------------------------------------------

IN, OUT = "llm.input_messages", "llm.output_messages"
RULE_TEXT = "text"


def read_all(read: Any, spans: list[SpanRecord]) -> tuple[list[Any], list[tuple[str, str, str]]]:
    """What ``read`` says of each span, and the values noted: (attribute, action, value)."""
    notes = ValueNotes()
    facts = [read(s, notes) for s in spans]
    return facts, [(p.attribute, p.action, p.value) for p in notes.problems]


def llm_span(span_id: int, name: str = "OpenAI.chat", **attributes: Any) -> SpanRecord:
    attrs = {KIND: "LLM", **{k.replace("__", "."): v for k, v in attributes.items()}}
    events = attrs.pop("events", ())
    return SpanRecord(0xABC, span_id, None, name, 0, 10 * MS, attributes=attrs, events=events)


def fn(call_id: Any, name: Any, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_openinference_messages_read_field_by_field() -> None:
    m0, m1, m2, m3 = (f"{IN}.{i}.message" for i in range(4))
    attributes: dict[str, Any] = {
        f"{m0}.role": "user",
        f"{m0}.content": 5,
        f"{m0}.name": 9,
        f"{m1}.role": "assistant",
        f"{m1}.tool_calls.0.tool_call.function.name": 6,
        f"{m1}.tool_calls.0.tool_call.id": 7,
        f"{m1}.tool_calls.0.tool_call.function.arguments": 8,
        f"{m1}.tool_calls.1.tool_call.function.name": "search",
        f"{m1}.tool_calls.2.tool_call.id": "call_only_id",
        f"{m1}.tool_calls.3.tool_call.function.name": ("x",),
        f"{m1}.tool_calls.3.tool_call.id": ("y",),
        f"{m1}.tool_calls.4.tool_call.function.name": "after both rejected: not read",
        f"{m2}.role": "tool",
        f"{m2}.content": "sunny",
        f"{m2}.tool_call_id": 70,
        f"{m3}.role": 3,
        f"{m3}.contents.0.message_content.text": 4,
        f"{m3}.contents.1.message_content.text": "and text",
        f"{IN}.4.message.role": ["not text"],
        f"{IN}.5.message.role": "user",
    }
    (facts,), problems = read_all(read_llm, [llm_span(1, **attributes)])
    assert facts.input_messages == [
        {"role": "user", "content": "5", "name": "9"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [fn("7", "6", "8"), fn(None, "search"), fn("call_only_id", None)],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "70"},
        {"role": "3", "content": "4\nand text"},
    ]
    assert problems == [
        (f"{m0}.content", "coerced", "5"),
        (f"{m0}.name", "coerced", "9"),
        (f"{m1}.tool_calls.0.tool_call.function.name", "coerced", "6"),
        (f"{m1}.tool_calls.0.tool_call.id", "coerced", "7"),
        (f"{m1}.tool_calls.0.tool_call.function.arguments", "coerced", "8"),
        (f"{m1}.tool_calls.3.tool_call.function.name", "rejected", "('x',)"),
        (f"{m1}.tool_calls.3.tool_call.id", "rejected", "('y',)"),
        (f"{m2}.tool_call_id", "coerced", "70"),
        (f"{m3}.role", "coerced", "3"),
        (f"{m3}.contents.0.message_content.text", "coerced", "4"),
        (f"{IN}.4.message.role", "rejected", "['not text']"),
    ]


@pytest.mark.parametrize("line_break", [False, True], ids=["keys as text", "key by key"])
def test_tool_calls_numbered_on_from_the_previous_message_are_found(line_break: bool) -> None:
    """openinference-instrumentation-openai-agents numbers a message's tool calls on from the
    previous message's: the second message's first call is ``tool_calls.1``."""
    m0, m1 = f"{OUT}.0.message", f"{OUT}.1.message"
    attributes: dict[str, Any] = {
        f"{m0}.role": "assistant",
        f"{m0}.tool_calls.0.tool_call.id": "call_a",
        f"{m0}.tool_calls.0.tool_call.function.name": "search",
        f"{m1}.role": "assistant",
        f"{m1}.tool_calls.1.tool_call.id": "call_b",
        f"{m1}.tool_calls.1.tool_call.function.name": "fetch",
        f"{m1}.tool_calls.1.tool_call.function.arguments": '{"u": 1}',
        f"{m1}.tool_calls.2.tool_call.id": 3,
        f"{m1}.tool_calls.1234567.tool_call.id": "index too long: not read",
        f"{OUT}.2.message.role": "user",
        f"{OUT}.2.message.contents.0.message_content.text": "only part",
    }
    if line_break:
        attributes["odd\nkey"] = "a key with a line break"
    (facts,), problems = read_all(read_llm, [llm_span(1, **attributes)])
    assert facts.output_messages == [
        {"role": "assistant", "content": "", "tool_calls": [fn("call_a", "search")]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [fn("call_b", "fetch", '{"u": 1}'), fn("3", None)],
        },
        {"role": "user", "content": "only part"},
    ]
    assert facts.finish_reason == "stop"
    assert problems == [(f"{m1}.tool_calls.2.tool_call.id", "coerced", "3")]


def test_openinference_model_calls_read_field_by_field() -> None:
    said = llm_span(
        1,
        "OpenAI.astream_chat",
        llm__provider=4,
        llm__system="openai",
        llm__finish_reason=5,
        llm__token_count__prompt=30,
        llm__token_count__completion=5,
        llm__token_count__total=40,
        llm__token_count__completion_details__reasoning="2",
    )
    inferred = llm_span(
        2,
        llm__system=6,
        llm__token_count__prompt=30,
        events=(SpanEvent("First Token Stream Event", 3 * MS),),
        **{f"{OUT}.0.message.role": "assistant", f"{OUT}.0.message.content": "Hi."},
    )
    calling = llm_span(
        3,
        llm__token_count__completion=7,
        **{
            f"{OUT}.0.message.role": "assistant",
            f"{OUT}.0.message.tool_calls.0.tool_call.id": "call_1",
        },
    )
    facts, problems = read_all(read_llm, [said, inferred, calling])
    assert [
        (f.provider, f.finish_reason, f.usage, f.first_token_ns, f.ends_early, f.convention)
        for f in facts
    ] == [
        ("4", "5", TokenUsage(30, 5, 40, 0, 2), None, True, "openinference"),
        ("6", "stop", TokenUsage(30, 0, 30, 0, 0), 3 * MS, True, "openinference"),
        (None, "tool_calls", TokenUsage(0, 7, 7, 0, 0), None, False, "openinference"),
    ]
    assert problems == [
        ("llm.finish_reason", "coerced", "5"),
        ("llm.provider", "coerced", "4"),
        ("llm.token_count.completion_details.reasoning", "coerced", "'2'"),
        ("llm.system", "coerced", "6"),
    ]


def tool(span_id: int, status: str = "OK", *events: SpanEvent, **attrs: Any) -> SpanRecord:
    attributes = {KIND: "TOOL", **{k.replace("__", "."): v for k, v in attrs.items()}}
    message = attributes.pop("message", "")
    return SpanRecord(
        0xABC, span_id, None, "FunctionTool.call", 0, MS, status=status,  # type: ignore[arg-type]
        status_message=message, attributes=attributes, events=events,
    )  # fmt: skip


def raised(kind: Any, message: Any) -> SpanEvent:
    return SpanEvent("exception", MS, {"exception.type": kind, "exception.message": message})


def test_openinference_tools_read_field_by_field() -> None:
    spans = [
        tool(1, tool__name="search", input__value='{"q": 1}', output__value=12, tool__id=5),
        tool(2, input__value="__REDACTED__", output__value="__REDACTED__"),
        tool(3, "ERROR", raised(("t",), 8), input__value=3, output__value=["x"]),
        tool(4, "ERROR", raised("KeyError", None), raised(None, "second")),
        tool(5, "ERROR", raised("", "no type"), message="status text"),
        tool(6, "ERROR", message="status text"),
        tool(7, "ERROR"),
        tool(8, output__value="not JSON: kept", input__value="not JSON"),
    ]
    facts, problems = read_all(read_tool, spans)
    name = "FunctionTool.call"
    assert facts == [
        ToolFacts("search", {"q": 1}, "12", "5", None),
        ToolFacts(name, None, None, None, None),
        ToolFacts(name, "3", None, None, "8"),
        ToolFacts(name, None, None, None, "second"),
        ToolFacts(name, None, None, None, "no type"),
        ToolFacts(name, None, None, None, "status text"),
        ToolFacts(name, None, None, None, "error"),
        ToolFacts(name, "not JSON", "not JSON: kept", None, None),
    ]
    assert problems == [
        ("tool.id", "coerced", "5"),
        ("input.value", "coerced", "3"),
        ("output.value", "rejected", "['x']"),
        ("exception.type", "rejected", "('t',)"),
        ("exception.message", "coerced", "8"),
    ]


def test_a_tool_span_in_both_conventions_takes_what_openinference_leaves_out() -> None:
    genai = {"gen_ai.operation.name": "execute_tool"}
    no_id = tool(1, tool__name="search", **genai, gen_ai__tool__call__id=9)
    no_name = tool(2, tool__id="call_1", **genai, gen_ai__tool__name="fetch")
    both = tool(3, tool__name="a", tool__id="c1", **genai, gen_ai__tool__name="b")
    facts, problems = read_all(read_tool, [no_id, no_name, both])
    assert [(f.name, f.tool_call_id) for f in facts] == [
        ("search", "9"),
        ("fetch", "call_1"),
        ("a", "c1"),
    ]
    assert problems == [("gen_ai.tool.call.id", "coerced", "9")]
    assert [(f.name, f.tool_call_id) for f in map(read_tool, [no_id, no_name])] == [
        ("search", "9"),
        ("fetch", "call_1"),
    ]
    assert read_llm(llm_span(4, llm__system=7)).provider == "7"  # without notes, the same


SAID_TWICE = {
    "role": ({"role": "user", "content": "ok"}, {"role": "assistant", "content": "ok"}),
    "tool call id": (tool_result("c1", "ok"), tool_result("c2", "ok")),
    "name": ({"role": "user", "content": "hi"}, {"role": "user", "content": "hi"}),
    "call id": (assistant("", [("c1", "f", {"q": 1})]), assistant("", [("c2", "f", {"q": 1})])),
    "call name": (assistant("", [("c1", "f", {})]), assistant("", [("c1", "g", {})])),
    "call arguments": (
        assistant("", [("c1", "f", {"q": 1})]),
        assistant("", [("c1", "f", {"q": 2})]),
    ),
}


@pytest.mark.parametrize("differing", SAID_TWICE)
def test_a_message_differing_from_an_earlier_one_in_one_field_is_not_a_resend(
    differing: str,
) -> None:
    """The later call re-sends the first answer (so it is history) and a message that differs
    from the first call's input in only one field: that message is new, and kept."""
    first, second = SAID_TWICE[differing]
    names = {}
    if differing == "name":
        names = {"llm.input_messages.0.message.name": "ann"}
    b = TraceBuilder()
    step = b.step(b.root(), "solo", 0, 50)
    b.llm(step, 1, 10, [first], [assistant("first")], extra=names)
    if differing == "name":
        names = {"llm.input_messages.0.message.name": "bob"}
    b.llm(step, 11, 20, [second, assistant("first")], [assistant("second")], extra=names)
    history = [
        {k: v for k, v in m.items() if k not in ("agent", "name")} for m in derive(b.spans).messages
    ]
    expected = [
        first,
        {"role": "assistant", "content": "first"},
        second,
        {"role": "assistant", "content": "second"},
    ]
    assert history == [openai_format(m) for m in expected]


def openai_format(message: dict[str, Any]) -> dict[str, Any]:
    """A message of support.records in OpenAI's format (as derive() gives it)."""
    out = {k: v for k, v in message.items() if k != "tool_calls"}
    if "tool_calls" in message:
        out["tool_calls"] = [
            fn(c["id"], c["name"], json.dumps(c["args"])) for c in message["tool_calls"]
        ]
    return out


def test_calls_of_a_message_with_content_and_parts_listed_out_of_order() -> None:
    m0, m1, m2 = (f"{OUT}.{i}.message" for i in range(3))
    attributes: dict[str, Any] = {
        f"{m0}.role": "assistant",
        f"{m0}.content": "Let me look.",
        f"{m0}.tool_calls.0.tool_call.function.name": "search",
        f"{m1}.role": "assistant",
        f"{m1}.content": "And fetch.",
        f"{m1}.tool_calls.0.tool_call.id": "call_2",
        f"{m2}.role": "user",
        f"{m2}.contents.1.message_content.text": "second",  # listed before the first part
        f"{m2}.contents.0.message_content.text": "first",
    }
    (facts,), _ = read_all(read_llm, [llm_span(1, **attributes)])
    assert facts.output_messages == [
        {"role": "assistant", "content": "Let me look.", "tool_calls": [fn(None, "search")]},
        {"role": "assistant", "content": "And fetch.", "tool_calls": [fn("call_2", None)]},
        {"role": "user", "content": "first\nsecond"},
    ]


def test_calls_numbered_on_in_a_span_without_content_parts() -> None:
    m0, m1 = f"{OUT}.0.message", f"{OUT}.1.message"
    attributes: dict[str, Any] = {
        f"{m0}.role": "assistant",
        f"{m0}.tool_calls.0.tool_call.id": "call_a",
        f"{m1}.role": "assistant",
        f"{m1}.tool_calls.1.tool_call.id": "call_b",
    }
    (facts,), _ = read_all(read_llm, [llm_span(1, **attributes)])
    assert facts.output_messages == [
        {"role": "assistant", "content": "", "tool_calls": [fn("call_a", None)]},
        {"role": "assistant", "content": "", "tool_calls": [fn("call_b", None)]},
    ]


# ---- placing parts and calls by counting, against the pass over every key ------------------

_PART_VALUES = st.one_of(st.text(max_size=3), st.integers(0, 9))
_PART = st.fixed_dictionaries(
    {},
    optional={
        "message_content.type": st.sampled_from(["text", "image", "audio"]),
        "message_content.text": _PART_VALUES,
        "message_content.image.image.url": st.just(PIXEL_URL),
    },
)


def _messages(numbers: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Messages whose parts and tool calls are numbered below ``numbers``, gaps allowed."""
    indices = st.integers(0, numbers - 1)
    call = st.fixed_dictionaries(
        {}, optional={"tool_call.id": _PART_VALUES, "tool_call.function.name": st.just("f")}
    )
    message = st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "tool"]),
            "parts": st.dictionaries(indices, _PART, max_size=3),
            "calls": st.dictionaries(indices, call, max_size=2),
        },
        optional={"content": _PART_VALUES, "tool_call_id": st.just("call_1")},
    )
    return st.lists(message, max_size=4)


def _attributes(messages: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}.message"
        for field in ("role", "content", "tool_call_id"):
            if field in message:
                attributes[f"{base}.{field}"] = message[field]
        for j, part in message["parts"].items():
            attributes.update({f"{base}.contents.{j}.{k}": v for k, v in part.items()})
        for k, call in message["calls"].items():
            attributes.update({f"{base}.tool_calls.{k}.{key}": v for key, v in call.items()})
    return attributes


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    # every part and call numbered 0 (read by counting) or any (by a pass over every key)
    st.sampled_from([1, 4]).flatmap(lambda n: st.tuples(_messages(n), _messages(n))),
    st.booleans(),
)
def test_parts_and_calls_placed_by_counting_read_as_a_pass_over_every_key(
    messages: tuple[list[dict[str, Any]], list[dict[str, Any]]], line_break: bool
) -> None:
    """A span whose parts and tool calls are all numbered 0 is read without looking at its
    keys one by one: what it reads, and what it notes, are what the pass over every key gives,
    for any numbering of parts and calls, with gaps, in either list."""
    inputs, outputs = messages
    attributes = {**_attributes(inputs, IN), **_attributes(outputs, OUT)}
    if line_break:
        attributes["odd\nkey"] = "a key with a line break"

    def read(span_keys: type[_openinference._SpanKeys]) -> tuple[list[Any], list[Any]]:
        notes = ValueNotes()
        note = notes.for_span(llm_span(1))
        keys = span_keys(attributes)  # (one for both lists, as read_llm does)
        read = [_openinference.read_messages(attributes, p, note, keys) for p in (IN, OUT)]
        return read, [(p.attribute, p.action, p.value) for p in notes.problems]

    class EveryKey(_openinference._SpanKeys):
        """A span's keys whose parts and calls are always placed by the pass over every key."""

        @property
        def first_only(self) -> bool:
            return False

    assert read(_openinference._SpanKeys) == read(EveryKey)
