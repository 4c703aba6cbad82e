"""The seven tables and their columns: names, order and types are stable (``SCHEMA_VERSION``).

Every table starts with its keys, then the run's labels (the same four columns in every
table: session, task, repetition, framework; so per-task queries need no join), then its
data. Types: ``string``, ``int64``, ``float64``, ``bool`` and ``timestamp`` (microseconds,
UTC; ISO-8601 text in CSV and JSON Lines). Lists and objects (a tool's arguments, a
message's tool calls, a run's agents and issues) are JSON text. Unknown is null, never zero:
a call without token counts has ``tokens_complete`` false, a model without a price has null
costs and ``cost_complete`` false.

``runs`` (key ``trace_id``)
    trace_id, session_id, task_id, repetition, framework, status ("ok" | "error"), start, end,
    wall_s, llm_s, tool_s, other_s, input, output, agents (JSON list of names), agent_count,
    llm_calls, tool_calls, handoffs, delegations, messages, errors, input_tokens, output_tokens,
    total_tokens, cached_input_tokens, reasoning_tokens, tokens_complete, missing_calls,
    cost_usd, input_cost_usd, output_cost_usd, cost_complete, issues (JSON list),
    task_status, passed, score, evaluation (MASEval's outcome of the run's task repetition,
    written by ``BenchmarkExport``; null elsewhere: its status, whether every evaluator
    passed, the mean score, and each evaluator's results as MASEval reports them, JSON list)
``agents`` (key ``trace_id``, ``agent``)
    trace_id, agent, session_id, task_id, repetition, framework, llm_calls, tool_calls, errors,
    duration_s, input_tokens, output_tokens, total_tokens, cached_input_tokens,
    reasoning_tokens, tokens_complete, missing_calls, cost_usd, input_cost_usd,
    output_cost_usd, cost_complete
``llm_calls`` (key ``trace_id``, ``span_id``)
    trace_id, span_id, agent, session_id, task_id, repetition, framework, model, provider,
    start, end, duration_s, time_to_first_token_s, input_tokens, output_tokens, total_tokens,
    cached_input_tokens, reasoning_tokens, tokens_complete, finish_reason, status, cost_usd,
    input_cost_usd, output_cost_usd, cost_complete
``tool_calls`` (key ``trace_id``, ``span_id``)
    trace_id, span_id, agent, session_id, task_id, repetition, framework, name, tool_call_id,
    arguments (JSON), output, start, end, duration_s, status, error
``messages`` (key ``trace_id``, ``position``)
    trace_id, position (0-based, conversation order), agent, session_id, task_id, repetition,
    framework, role, content, tool_call_id, name, tool_calls (JSON list, OpenAI format)
``handoffs`` (key ``trace_id``, ``position``)
    trace_id, position (0-based), session_id, task_id, repetition, framework, from_agent,
    to_agent, reason, at, tool_call_id
``delegations`` (key ``trace_id``, ``position``)
    trace_id, position (0-based), session_id, task_id, repetition, framework, from_agent,
    to_agent, task, at, tool_call_id

``agent`` is null where the spans do not say which agent acted.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["COLUMNS", "LABELS", "SCHEMA_VERSION", "TABLES", "ColumnType", "TableName"]

SCHEMA_VERSION = 3  # 2: the framework label, delegations; 3: the runs' MASEval evaluation

ColumnType = Literal["string", "int64", "float64", "bool", "timestamp"]
TableName = Literal[
    "runs", "agents", "llm_calls", "tool_calls", "messages", "handoffs", "delegations"
]
TABLES: tuple[TableName, ...] = (
    "runs",
    "agents",
    "llm_calls",
    "tool_calls",
    "messages",
    "handoffs",
    "delegations",
)

LABELS: tuple[tuple[str, ColumnType], ...] = (
    ("session_id", "string"),
    ("task_id", "string"),
    ("repetition", "int64"),
    ("framework", "string"),
)
_TOKENS: tuple[tuple[str, ColumnType], ...] = (
    ("input_tokens", "int64"),
    ("output_tokens", "int64"),
    ("total_tokens", "int64"),
    ("cached_input_tokens", "int64"),
    ("reasoning_tokens", "int64"),
    ("tokens_complete", "bool"),
)
_COST: tuple[tuple[str, ColumnType], ...] = (
    ("cost_usd", "float64"),
    ("input_cost_usd", "float64"),
    ("output_cost_usd", "float64"),
    ("cost_complete", "bool"),
)

COLUMNS: dict[TableName, tuple[tuple[str, ColumnType], ...]] = {
    "runs": (
        ("trace_id", "string"),
        *LABELS,
        ("status", "string"),
        ("start", "timestamp"),
        ("end", "timestamp"),
        ("wall_s", "float64"),
        ("llm_s", "float64"),
        ("tool_s", "float64"),
        ("other_s", "float64"),
        ("input", "string"),
        ("output", "string"),
        ("agents", "string"),
        ("agent_count", "int64"),
        ("llm_calls", "int64"),
        ("tool_calls", "int64"),
        ("handoffs", "int64"),
        ("delegations", "int64"),
        ("messages", "int64"),
        ("errors", "int64"),
        *_TOKENS,
        ("missing_calls", "int64"),
        *_COST,
        ("issues", "string"),
        ("task_status", "string"),
        ("passed", "bool"),
        ("score", "float64"),
        ("evaluation", "string"),
    ),
    "agents": (
        ("trace_id", "string"),
        ("agent", "string"),
        *LABELS,
        ("llm_calls", "int64"),
        ("tool_calls", "int64"),
        ("errors", "int64"),
        ("duration_s", "float64"),
        *_TOKENS,
        ("missing_calls", "int64"),
        *_COST,
    ),
    "llm_calls": (
        ("trace_id", "string"),
        ("span_id", "string"),
        ("agent", "string"),
        *LABELS,
        ("model", "string"),
        ("provider", "string"),
        ("start", "timestamp"),
        ("end", "timestamp"),
        ("duration_s", "float64"),
        ("time_to_first_token_s", "float64"),
        *_TOKENS,
        ("finish_reason", "string"),
        ("status", "string"),
        *_COST,
    ),
    "tool_calls": (
        ("trace_id", "string"),
        ("span_id", "string"),
        ("agent", "string"),
        *LABELS,
        ("name", "string"),
        ("tool_call_id", "string"),
        ("arguments", "string"),
        ("output", "string"),
        ("start", "timestamp"),
        ("end", "timestamp"),
        ("duration_s", "float64"),
        ("status", "string"),
        ("error", "string"),
    ),
    "messages": (
        ("trace_id", "string"),
        ("position", "int64"),
        ("agent", "string"),
        *LABELS,
        ("role", "string"),
        ("content", "string"),
        ("tool_call_id", "string"),
        ("name", "string"),
        ("tool_calls", "string"),
    ),
    "handoffs": (
        ("trace_id", "string"),
        ("position", "int64"),
        *LABELS,
        ("from_agent", "string"),
        ("to_agent", "string"),
        ("reason", "string"),
        ("at", "timestamp"),
        ("tool_call_id", "string"),
    ),
    "delegations": (
        ("trace_id", "string"),
        ("position", "int64"),
        *LABELS,
        ("from_agent", "string"),
        ("to_agent", "string"),
        ("task", "string"),
        ("at", "timestamp"),
        ("tool_call_id", "string"),
    ),
}
