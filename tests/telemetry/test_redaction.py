"""Hiding and masking per Telemetry: no secret reaches the OTLP/JSON file, a real OTLP receiver
(the embedded collector: its query API and every byte of its database), the in-memory capture,
or the RunTrace and MASEval traces, when masking is on.

The run is real: a FunctionAgent through the MASEval adapter against the scripted model, whose
user message, tool call arguments, tool result, tool error (message and stack trace) and final
answer each carry a secret. A second Telemetry in the same process, without masking, keeps the
secret in its own file: masking is per Telemetry, and the search would find a secret that is
there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from openinference.semconv.trace import SpanAttributes
from support.adapter_fixtures import demo, demo_workflow, scripted_server
from support.collector_fixtures import collector

from otel_bridge import Telemetry, load_spans
from otel_bridge.collector import Collector
from otel_bridge.errors import ConfigError
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import (
    DemoScript,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)
from otel_bridge.telemetry import REDACTED, SECRET_PATTERNS, Redaction

__all__ = ["collector", "scripted_server"]  # fixtures, imported for pytest

API_KEY = "sk-proj-Zq8RkT3nVw7LmP2xYc5bA9dE"
TOKEN = "tok_4f9a8b7c6d5e4f3a2b1c"
BEARER = f"Bearer {TOKEN}"
SECRETS = (API_KEY, TOKEN)


def read_config(name: str) -> str:
    """Read a configuration entry."""
    return f"{name}: Authorization: {BEARER}"


def rotate(key: str) -> str:
    """Rotate an API key."""
    raise RuntimeError(f"cannot rotate {key}")


def secret_agent(server: ScriptedLLMServer) -> FunctionAgent:
    """An agent whose run carries the secrets everywhere a span can hold text."""
    server.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("read_config", {"name": API_KEY})], usage=Usage(50, 5)),
            Reply(tool_calls=[ToolCallSpec("rotate", {"key": API_KEY})], usage=Usage(80, 6)),
            Reply(content=f"Done; the key {API_KEY} was not rotated.", usage=Usage(120, 9)),
        ]
    )
    return FunctionAgent(
        name="ops",
        system_prompt="You manage configuration.",
        tools=[FunctionTool.from_defaults(read_config), FunctionTool.from_defaults(rotate)],
        llm=scripted_openai_llm(server, include_usage=True),
    )


def leaks(data: bytes | str) -> list[str]:
    """The secrets found in some bytes or text."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return [s for s in SECRETS if s.encode() in raw]


def test_no_secret_reaches_the_file_the_receiver_or_the_run_trace(
    scripted_server: ScriptedLLMServer, collector: Collector, tmp_path: Path
) -> None:
    masked_file, control_file = tmp_path / "masked.otlp.json", tmp_path / "control.otlp.json"
    masked = Telemetry(
        otlp_endpoint=collector.http_url,
        otlp_json_file=masked_file,
        semconv="both",  # OpenInference and GenAI attributes, and the added invoke_agent spans
        mask=True,
    )
    control = Telemetry(otlp_json_file=control_file)
    try:
        adapter = LlamaIndexAgentAdapter(secret_agent(scripted_server), "ops", masked)
        answer = adapter.run(f"Check the configuration for {API_KEY}.")
        assert API_KEY in answer  # the answer returned to the caller is the agent's own
        run = adapter.last_run
        assert run is not None
        LlamaIndexAgentAdapter(secret_agent(scripted_server), "ops", control).run(
            f"Check {API_KEY}."
        )
    finally:
        masked.shutdown()
        control.shutdown()

    assert leaks(control_file.read_bytes()) == list(SECRETS), "the search finds what is there"
    assert leaks(masked_file.read_bytes()) == []
    assert REDACTED.encode() in masked_file.read_bytes()

    base = f"{collector.http_url}/api/traces/{run.trace_id}"
    stored = httpx.get(f"{base}/spans").content
    exported = load_spans(collector.http_url, run.trace_id)
    assert len(exported) == len(masked.spans(run.trace_id)) + 1  # and the added invoke_agent span
    assert leaks(stored) == [] and leaks(httpx.get(f"{base}/run").content) == []
    database = b"".join(p.read_bytes() for p in tmp_path.glob("spans.db*"))  # with its WAL
    assert len(database) > 10_000 and leaks(database) == []

    assert leaks(repr(masked.spans())) == []
    assert leaks(json.dumps(run.to_dict())) == []
    traces = adapter.gather_traces()
    assert leaks(json.dumps(traces, default=str)) == []  # the logs' query and error too
    assert "__REDACTED__" in traces["logs"][0]["query"]
    assert leaks(json.dumps(adapter.get_messages().to_list(), default=str)) == []

    # Masked, not lost: the run is whole.
    assert [(t.name, t.status) for t in run.tool_calls] == [
        ("read_config", "ok"),
        ("rotate", "error"),
    ]
    assert run.tool_calls[0].arguments == {"name": REDACTED}
    assert run.tool_calls[0].output == f"{REDACTED}: Authorization: {REDACTED}"
    assert run.tool_calls[1].error == f"RuntimeError: cannot rotate {REDACTED}"
    assert run.input == f"Check the configuration for {REDACTED}."
    assert run.output == f"Done; the key {REDACTED} was not rotated."
    assert (run.usage.input_tokens, run.usage.output_tokens) == (250, 20)
    assert run.issues == []


def test_hiding_inputs_and_outputs_keeps_the_run_structure(
    scripted_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    script = demo()
    scripted_server.set_script(script.router())
    path = tmp_path / "hidden.otlp.json"
    telemetry = Telemetry(otlp_json_file=path, hide_inputs=True, hide_outputs=True)
    try:
        adapter = LlamaIndexAgentAdapter(demo_workflow(scripted_server), "team", telemetry)
        assert adapter.run(script.user_msg) == script.answer
        run = adapter.last_run
        assert run is not None
    finally:
        telemetry.shutdown()

    # Who did what is kept: agents, calls, tools, handoffs, tokens.
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]
    assert list(run.agents) == ["researcher", "writer"]
    assert [t.name for t in run.tool_calls] == ["search", "handoff", "word_count"]
    assert (run.usage.total_tokens, len(run.llm_calls)) == (2363, 4)
    # What was said is not.
    assert (run.input, run.output, run.messages) == (None, None, [])
    assert all(t.arguments is None and t.output is None for t in run.tool_calls)
    for spans in (telemetry.spans(run.trace_id), load_spans(path, run.trace_id)):
        keys = {k for s in spans for k in s.attributes}
        assert not [k for k in keys if k.startswith(("llm.input_messages", "llm.output_messages"))]
        values = {s.attributes.get(SpanAttributes.INPUT_VALUE) for s in spans} - {None}
        assert values == {REDACTED}
        assert {s.attributes.get(SpanAttributes.OUTPUT_VALUE) for s in spans} - {None} == {REDACTED}
    assert script.user_msg.encode() not in path.read_bytes()
    assert script.answer.encode() not in path.read_bytes()


def genai_demo(
    server: ScriptedLLMServer, path: Path, *, hide_inputs: bool = False, hide_outputs: bool = False
) -> DemoScript:
    """The demo run through the adapter, its spans written to ``path`` in the GenAI view with
    content, inputs or outputs hidden; the answer is kept either way."""
    script = demo()
    server.set_script(script.router())
    telemetry = Telemetry(
        otlp_json_file=path,
        semconv="genai",
        genai_content=True,
        hide_inputs=hide_inputs,
        hide_outputs=hide_outputs,
    )
    try:
        adapter = LlamaIndexAgentAdapter(demo_workflow(server), "team", telemetry)
        assert adapter.run(script.user_msg) == script.answer
    finally:
        telemetry.shutdown()
    return script


def test_the_genai_view_hides_its_message_attributes(
    scripted_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "genai.otlp.json"
    script = genai_demo(scripted_server, path, hide_inputs=True)
    keys = {k for s in load_spans(path) for k in s.attributes}
    assert "gen_ai.output.messages" in keys  # outputs are not hidden here
    assert {
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
    }.isdisjoint(keys)
    assert script.user_msg.encode() not in path.read_bytes()


def test_the_genai_view_hides_its_output_attributes(
    scripted_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "genai-outputs.otlp.json"
    script = genai_demo(scripted_server, path, hide_outputs=True)
    keys = {k for s in load_spans(path) for k in s.attributes}
    assert "gen_ai.input.messages" in keys  # inputs are not hidden here
    assert {"gen_ai.output.messages", "gen_ai.tool.call.result"}.isdisjoint(keys)
    # The answer is still there where it is an input (word_count's arguments, the input
    # messages of the call after that tool), never as an output.
    holding_the_answer = {
        key for span in load_spans(path) for key, value in span.attributes.items()
        if script.answer in str(value)
    }  # fmt: skip
    assert holding_the_answer == {"gen_ai.tool.call.arguments", "gen_ai.input.messages"}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"key={API_KEY}", f"key={REDACTED}"),
        ("sk-ant-api03-AbCdEfGhIjKlMnOpQrSt and more", f"{REDACTED} and more"),
        (f"Authorization: {BEARER}", f"Authorization: {REDACTED}"),
        ("aws AKIAIOSFODNN7EXAMPLE done", f"aws {REDACTED} done"),
        ("ghp_" + "a1" * 18 + " pushed", f"{REDACTED} pushed"),
        ("a task about sk-learn is not a key", "a task about sk-learn is not a key"),
    ],
)
def test_the_common_secret_patterns(text: str, masked: str) -> None:
    redaction = Redaction(patterns=tuple(re.compile(p) for p in SECRET_PATTERNS))
    assert redaction.text(text) == masked


def test_a_user_pattern_masks_its_matches_only() -> None:
    redaction = Redaction(patterns=(re.compile(r"customer-\d{6}"),))
    assert redaction.value(("customer-123456", "customer-12", 7)) == (REDACTED, "customer-12", 7)


@pytest.mark.parametrize("mask", [["sk-[unclosed"], "sk-.*", 3])
def test_a_mask_that_is_not_a_list_of_patterns_is_a_config_error(mask: object) -> None:
    with pytest.raises(ConfigError) as info:
        Telemetry(mask=mask)  # type: ignore[arg-type]
    assert str(info.value).startswith("mask") and "\n" not in str(info.value)


def test_text_a_caller_keeps_of_a_run_is_kept_as_the_telemetry_keeps_spans() -> None:
    masking = Telemetry(mask=True)
    hiding = Telemetry(hide_inputs=True)
    try:
        assert masking.redaction.input_text(f"use {API_KEY}") == f"use {REDACTED}"
        assert masking.redaction.output_text(BEARER) == REDACTED
        assert hiding.redaction.input_text("the question") == REDACTED
        assert hiding.redaction.output_text("the answer") == "the answer"
    finally:
        masking.shutdown()
        hiding.shutdown()
