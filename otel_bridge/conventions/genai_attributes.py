"""OpenTelemetry GenAI semantic-convention names, in one place.

The GenAI conventions are incubating: ``opentelemetry-semantic-conventions`` ships the names it
knows in ``opentelemetry.semconv._incubating`` (taken from there); the agent-transfer names
exist only in the GenAI conventions repository (open-telemetry/semantic-conventions-genai,
``model/gen-ai/spans.yaml`` and ``registry.yaml`` at commit
002c8a6ea1c8a42b14a4527db83b3cabcded610a) and are spelled out here. Older spellings that other
instrumentations still emit (``gen_ai.system``, ``gen_ai.usage.prompt_tokens``, OpenLLMetry's
``gen_ai.prompt.N.*`` and ``traceloop.*``) are read, never written.
"""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _g
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE as _ERROR_TYPE
from opentelemetry.semconv.attributes.error_attributes import ErrorTypeValues as _ErrorTypeValues

__all__ = [
    "AGENT_DESCRIPTION",
    "AGENT_NAME",
    "CACHE_CREATION_TOKENS",
    "CACHE_READ_TOKENS",
    "COMPLETION_PREFIX",
    "COMPLETION_TOKENS",
    "CONVERSATION_ID",
    "ERROR_TYPE",
    "ERROR_TYPE_OTHER",
    "FINISH_REASONS",
    "HANDOFF_SOURCE",
    "HANDOFF_TARGET",
    "INPUT_MESSAGES",
    "INPUT_TOKENS",
    "LLM_OPERATIONS",
    "OPERATION",
    "OP_CHAT",
    "OP_EXECUTE_TOOL",
    "OP_INVOKE_AGENT",
    "OP_INVOKE_WORKFLOW",
    "OUTPUT_MESSAGES",
    "OUTPUT_TOKENS",
    "PROMPT_PREFIX",
    "PROMPT_TOKENS",
    "PROVIDER",
    "REASONING_TOKENS",
    "REASONING_TOKENS_OPENLLMETRY",
    "REQUEST_MODEL",
    "REQUEST_STREAM",
    "RESPONSE_ID",
    "RESPONSE_MODEL",
    "SYSTEM",
    "SYSTEM_INSTRUCTIONS",
    "TIME_TO_FIRST_CHUNK",
    "TOOL_CALL_ARGUMENTS",
    "TOOL_CALL_ID",
    "TOOL_CALL_RESULT",
    "TOOL_DEFINITIONS",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "TOOL_OPERATION",
    "TOOL_TYPE",
    "TOOL_TYPE_FUNCTION",
    "TOTAL_TOKENS",
    "TRACELOOP_ENTITY_INPUT",
    "TRACELOOP_ENTITY_NAME",
    "TRACELOOP_OUTPUT",
    "TRACELOOP_SPAN_KIND",
    "TRANSFER_MODE",
    "TRANSFER_PASS_CONTROL",
    "TRANSFER_RETURN_TO_CALLER",
    "TRANSFER_TARGET_AGENT",
    "TRANSFER_TARGET_NAME",
    "TRANSFER_TARGET_TYPE",
    "WORKFLOW_NAME",
]

# ---- operations --------------------------------------------------------------------------
OPERATION = _g.GEN_AI_OPERATION_NAME
OP_CHAT = _g.GenAiOperationNameValues.CHAT.value
OP_EXECUTE_TOOL = _g.GenAiOperationNameValues.EXECUTE_TOOL.value
OP_INVOKE_AGENT = _g.GenAiOperationNameValues.INVOKE_AGENT.value
OP_INVOKE_WORKFLOW = "invoke_workflow"
LLM_OPERATIONS = frozenset(
    {
        OP_CHAT,
        _g.GenAiOperationNameValues.TEXT_COMPLETION.value,
        _g.GenAiOperationNameValues.GENERATE_CONTENT.value,
    }
)
TOOL_OPERATION = OP_EXECUTE_TOOL

# ---- agents, workflows, conversations ----------------------------------------------------
AGENT_NAME = _g.GEN_AI_AGENT_NAME
AGENT_DESCRIPTION = _g.GEN_AI_AGENT_DESCRIPTION
WORKFLOW_NAME = _g.GEN_AI_WORKFLOW_NAME
CONVERSATION_ID = _g.GEN_AI_CONVERSATION_ID

# ---- model calls -------------------------------------------------------------------------
PROVIDER = _g.GEN_AI_PROVIDER_NAME
SYSTEM = _g.GEN_AI_SYSTEM  # the older name of the provider
REQUEST_MODEL = _g.GEN_AI_REQUEST_MODEL
REQUEST_STREAM = _g.GEN_AI_REQUEST_STREAM
RESPONSE_MODEL = _g.GEN_AI_RESPONSE_MODEL
RESPONSE_ID = _g.GEN_AI_RESPONSE_ID
FINISH_REASONS = _g.GEN_AI_RESPONSE_FINISH_REASONS
TIME_TO_FIRST_CHUNK = _g.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK  # seconds, a double
INPUT_MESSAGES = _g.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = _g.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS = _g.GEN_AI_SYSTEM_INSTRUCTIONS
TOOL_DEFINITIONS = _g.GEN_AI_TOOL_DEFINITIONS
ERROR_TYPE = _ERROR_TYPE
ERROR_TYPE_OTHER = _ErrorTypeValues.OTHER.value  # when no exception names the error

# ---- usage (input includes cached tokens; output includes reasoning tokens) --------------
INPUT_TOKENS = _g.GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = _g.GEN_AI_USAGE_OUTPUT_TOKENS
CACHE_READ_TOKENS = _g.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
CACHE_CREATION_TOKENS = _g.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
REASONING_TOKENS = _g.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
PROMPT_TOKENS = _g.GEN_AI_USAGE_PROMPT_TOKENS  # older spelling of input tokens
COMPLETION_TOKENS = _g.GEN_AI_USAGE_COMPLETION_TOKENS  # older spelling of output tokens
TOTAL_TOKENS = "gen_ai.usage.total_tokens"  # OpenLLMetry only; not in the conventions
REASONING_TOKENS_OPENLLMETRY = "gen_ai.usage.reasoning_tokens"  # OpenLLMetry, non-streaming

# ---- tools and transfers (handoffs) ------------------------------------------------------
TOOL_NAME = _g.GEN_AI_TOOL_NAME
TOOL_TYPE = _g.GEN_AI_TOOL_TYPE
TOOL_TYPE_FUNCTION = "function"  # a tool the client runs with arguments the model chose
TOOL_DESCRIPTION = _g.GEN_AI_TOOL_DESCRIPTION
TOOL_CALL_ID = _g.GEN_AI_TOOL_CALL_ID
TOOL_CALL_ARGUMENTS = _g.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_CALL_RESULT = _g.GEN_AI_TOOL_CALL_RESULT
TRANSFER_MODE = "gen_ai.transfer.mode"
TRANSFER_TARGET_NAME = "gen_ai.transfer.target.name"
TRANSFER_TARGET_TYPE = "gen_ai.transfer.target.type"
TRANSFER_TARGET_AGENT = "agent"
TRANSFER_PASS_CONTROL = "pass_control"
TRANSFER_RETURN_TO_CALLER = "return_to_caller"
# Read only, from spans that earlier otel-bridge versions exported (a proposal never merged).
HANDOFF_SOURCE = "gen_ai.agent.handoff.source.name"
HANDOFF_TARGET = "gen_ai.agent.handoff.target.name"

# ---- OpenLLMetry (read only) -------------------------------------------------------------
PROMPT_PREFIX = "gen_ai.prompt"
COMPLETION_PREFIX = "gen_ai.completion"
TRACELOOP_SPAN_KIND = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME = "traceloop.entity.name"
TRACELOOP_ENTITY_INPUT = "traceloop.entity.input"
TRACELOOP_OUTPUT = "traceloop.entity.output"
