"""OpenTelemetry GenAI semantic-convention names, in one place.

The GenAI conventions are still incubating upstream; these are the names otel-bridge reads
(and writes on export), including older spellings other instrumentations still emit.
"""

from __future__ import annotations

__all__ = [
    "AGENT_NAME",
    "CACHE_READ_TOKENS",
    "COMPLETION_PREFIX",
    "COMPLETION_TOKENS",
    "FINISH_REASONS",
    "HANDOFF_SOURCE",
    "HANDOFF_TARGET",
    "INPUT_MESSAGES",
    "INPUT_TOKENS",
    "LLM_OPERATIONS",
    "OPERATION",
    "OUTPUT_MESSAGES",
    "OUTPUT_TOKENS",
    "PROMPT_PREFIX",
    "PROMPT_TOKENS",
    "PROVIDER",
    "REASONING_TOKENS",
    "REQUEST_MODEL",
    "RESPONSE_MODEL",
    "SYSTEM",
    "TOOL_CALL_ARGUMENTS",
    "TOOL_CALL_ID",
    "TOOL_CALL_RESULT",
    "TOOL_NAME",
    "TOOL_OPERATION",
    "TRACELOOP_OUTPUT",
]

OPERATION = "gen_ai.operation.name"
AGENT_NAME = "gen_ai.agent.name"
PROVIDER = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
PROMPT_PREFIX = "gen_ai.prompt"
COMPLETION_PREFIX = "gen_ai.completion"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
HANDOFF_SOURCE = "gen_ai.agent.handoff.source.name"
HANDOFF_TARGET = "gen_ai.agent.handoff.target.name"
TRACELOOP_OUTPUT = "traceloop.entity.output"

LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
TOOL_OPERATION = "execute_tool"
