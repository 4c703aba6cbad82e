"""The RunTrace JSON (``RunTrace.to_dict()``, ``otel-bridge derive --json``), typed in one place.

``RunTrace`` writes it, the HTML report, the terminal summary and the tables read it, and
consumers get it as ``docs/runtrace.schema.json`` (JSON Schema, generated from these types:
``otel-bridge schema > docs/runtrace.schema.json``). Keys are stable; a value that is
unknown is null, never zero. Readers of JSON from elsewhere (a file of an older version) still
check what they read: a type here says what otel-bridge writes.
"""

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, cast

from typing_extensions import TypedDict  # the one pydantic reads on Python 3.11

from .errors import SpanFormatError

__all__ = [
    "NDJSON",
    "AgentJSON",
    "CostJSON",
    "DelegationJSON",
    "HandoffJSON",
    "LLMCallJSON",
    "MessageJSON",
    "RequestedToolCallJSON",
    "RunLabels",
    "RunTraceJSON",
    "Status",
    "TimingsJSON",
    "ToolCallJSON",
    "UsageJSON",
    "as_run_json",
    "json_schema",
]

NDJSON = "application/x-ndjson"
"""The media type of RunTrace JSON objects one per line (the collector's ``/api/runs``)."""

Status = Literal["ok", "error"]


class RunLabels(TypedDict):
    """Which session a run belongs to, for which MASEval task and repetition, in which agent
    framework (None: unsaid)."""

    session_id: str | None
    task_id: str | None
    repetition: int | None
    framework: str | None


class UsageJSON(TypedDict):
    """Token counts; ``complete`` is false when ``missing_calls`` LLM calls reported none."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    complete: bool
    missing_calls: int


class CostJSON(TypedDict):
    """Money in USD (null: no part known); ``complete`` is false when calls are unpriced."""

    total_usd: float | None
    input_usd: float | None
    output_usd: float | None
    complete: bool
    unpriced_calls: int


class AgentJSON(TypedDict):
    """One agent's totals."""

    usage: UsageJSON
    llm_calls: int
    tool_calls: int
    duration_s: float
    errors: int
    cost: CostJSON


class LLMCallJSON(TypedDict):
    """One real model call (times ISO-8601; a stream lasts to its agent step's end)."""

    span_id: str
    agent: str | None
    model: str | None
    provider: str | None
    start: str
    end: str
    duration_s: float
    time_to_first_token_s: float | None
    usage: UsageJSON
    finish_reason: str | None
    status: Status
    cost: CostJSON


class ToolCallJSON(TypedDict):
    """One tool execution (``arguments``: the JSON value the tool was called with)."""

    span_id: str
    agent: str | None
    name: str
    tool_call_id: str | None
    arguments: Any
    output: str | None
    start: str
    end: str
    duration_s: float
    status: Status
    error: str | None


HandoffJSON = TypedDict(
    "HandoffJSON",
    {
        "from": str | None,
        "to": str,
        "reason": str | None,
        "at": str,
        "tool_call_id": str | None,
    },
)
"""Control passing from one agent to another."""

DelegationJSON = TypedDict(
    "DelegationJSON",
    {
        "from": str | None,
        "to": str,
        "task": str | None,
        "at": str,
        "tool_call_id": str | None,
    },
)
"""An agent called as a tool by another, control returning to the caller afterwards."""


class _FunctionJSON(TypedDict):
    name: str | None
    arguments: str


class RequestedToolCallJSON(TypedDict):
    """A tool call a model asked for (OpenAI format; ``arguments`` as JSON text)."""

    id: str | None
    type: str
    function: _FunctionJSON


class MessageJSON(TypedDict):
    """One message of the conversation, OpenAI chat format, with the agent that sent or got it."""

    role: str
    content: str | None
    tool_calls: NotRequired[list[RequestedToolCallJSON]]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]
    agent: NotRequired[str | None]


class TimingsJSON(TypedDict):
    """Where the wall time went, in seconds (parallel work counted once)."""

    wall_s: float
    llm_s: float
    tool_s: float
    other_s: float
    per_agent_s: dict[str, float]


class RunTraceJSON(TypedDict):
    """One run (one trace)."""

    trace_id: str
    status: Status
    input: str | None
    output: str | None
    labels: RunLabels
    start: str
    end: str
    agents: dict[str, AgentJSON]
    usage: UsageJSON
    usage_by_model: dict[str, UsageJSON]
    cost: CostJSON
    cost_by_model: dict[str, CostJSON]
    handoffs: list[HandoffJSON]
    delegations: list[DelegationJSON]
    messages: list[MessageJSON]
    llm_calls: list[LLMCallJSON]
    tool_calls: list[ToolCallJSON]
    timings: TimingsJSON
    issues: list[str]


def as_run_json(run: Any) -> RunTraceJSON:
    """The RunTrace JSON of ``run``: a RunTrace (anything with ``to_dict()``) or that JSON.

    ``SpanFormatError`` when it is neither (an object with a ``trace_id`` is taken as one: its
    readers check what else they read).
    """
    data = run.to_dict() if hasattr(run, "to_dict") else run
    if not isinstance(data, Mapping) or not isinstance(data.get("trace_id"), str):
        raise SpanFormatError(
            "not RunTrace JSON: expected a RunTrace or an object with a 'trace_id', got "
            f"{type(data).__name__}"
        )
    return cast(RunTraceJSON, dict(data))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``RunTraceJSON`` (needs pydantic, which LlamaIndex brings)."""
    from pydantic import TypeAdapter

    schema: dict[str, Any] = TypeAdapter(RunTraceJSON).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "RunTrace"
    schema["description"] = "One run of agents, derived from its spans by otel-bridge."
    return schema
