"""Agent frameworks: what each one instruments, and what its spans mean.

``conventions`` reads attributes the same way whatever framework wrote them; a framework
module (one per framework, each a ``Framework``) says which spans are its agents' turns and
activations, which tool calls hand control to another agent (handoffs) or run another agent
and get control back (delegations), how its tool spans record their input and output, and
which instrumentor captures it. Derivation and telemetry ask the functions below, which ask
every framework in ``FRAMEWORKS``; adding a framework means adding one module to that tuple.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from .. import conventions as conv
from ..conventions import Message, ToolFacts, ValueNotes
from ..errors import ConfigError
from ..run_trace import TokenUsage, ToolCall
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer
from ._langgraph import LANGGRAPH
from ._llama_index import LLAMA_INDEX
from ._openai_agents import OPENAI_AGENTS
from ._smolagents import SMOLAGENTS

__all__ = [
    "FRAMEWORKS",
    "Framework",
    "Instrumentation",
    "Transfer",
    "activation_agent",
    "by_name",
    "covers_stream",
    "framework_of",
    "fresh_span_tree",
    "is_model_call",
    "is_unnamed_step",
    "matches_tool_calls",
    "node_transfer",
    "refine_messages",
    "refine_tool",
    "refine_usage",
    "refused",
    "requested_transfer",
    "run_answer",
    "select",
    "span_agent",
    "step_agent",
    "step_tool_call_id",
    "transfer",
]

FRAMEWORKS: tuple[Framework, ...] = (
    LLAMA_INDEX,
    LANGGRAPH,
    SMOLAGENTS,
    OPENAI_AGENTS,
)
"""Every framework otel-bridge knows, in the order they are asked."""


def _implementing(hook: str) -> tuple[Any, ...]:
    """The bound ``hook`` of each framework that implements it (the rest say nothing there).

    Derivation asks some hooks of every span: asking only the frameworks that answer keeps
    that cost to what the frameworks really do.
    """
    default = getattr(Framework, hook)
    return tuple(getattr(f, hook) for f in FRAMEWORKS if getattr(type(f), hook) is not default)


_IS_MODEL_CALL = _implementing("is_model_call")
_STEP_AGENT = _implementing("step_agent")
_ACTIVATION_AGENT = _implementing("activation_agent")
_IS_UNNAMED_STEP = _implementing("is_unnamed_step")
_SPAN_AGENT = _implementing("span_agent")
_STEP_TOOL_CALL_ID = _implementing("step_tool_call_id")
_MATCHES_TOOL_CALLS = _implementing("matches_tool_calls")
_COVERS_STREAM = _implementing("covers_stream")
_REFINE_TOOL = _implementing("refine_tool")
_REFINE_MESSAGES = _implementing("refine_messages")
_NODE_TRANSFER = _implementing("node_transfer")


def by_name(name: str) -> Framework:
    """The framework called ``name``; ``ConfigError`` naming the known ones otherwise."""
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    known = ", ".join(f.name for f in FRAMEWORKS)
    raise ConfigError(f"unknown framework {name!r}: expected one of {known}")


def select(names: Iterable[str] | None) -> tuple[Framework, ...]:
    """The frameworks named (every known one for None), checked, in ``FRAMEWORKS`` order."""
    if names is None:
        return FRAMEWORKS
    if isinstance(names, str):
        raise ConfigError(f"frameworks must be a list of names, not the text {names!r}")
    wanted = {by_name(str(n)).name for n in names}
    return tuple(f for f in FRAMEWORKS if f.name in wanted)


def framework_of(spans: Sequence[SpanRecord]) -> str | None:
    """The framework whose spans these are (the first recognized, in span order), else None."""
    for span in spans:
        for framework in FRAMEWORKS:
            if framework.recognizes(span):
                return framework.name
    return None


def is_model_call(span: SpanRecord) -> bool:
    """A model call: an LLM span by its convention that no framework disowns."""
    return conv.is_llm_call(span) and all(hook(span) for hook in _IS_MODEL_CALL)


def step_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of a span that is one turn of it (``run_agent_step`` and the like), else None."""
    for hook in _STEP_AGENT:
        agent = hook(span, notes)
        if agent is not None:
            return agent
    return None


def activation_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of a span covering one whole activation of it, as a framework names it."""
    for hook in _ACTIVATION_AGENT:
        agent = hook(span, notes)
        if agent is not None:
            return agent
    return None


def is_unnamed_step(span: SpanRecord) -> bool:
    """A span that is one turn of the agent whose activation is its parent (``Step N``)."""
    return any(hook(span) for hook in _IS_UNNAMED_STEP)


def span_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent a framework writes on a span for itself and what runs below it."""
    for hook in _SPAN_AGENT:
        agent = hook(span, notes)
        if agent is not None:
            return agent
    return None


def step_tool_call_id(span: SpanRecord) -> str | None:
    """The tool call id of a span that runs one tool call (``call_tool``), else None."""
    for hook in _STEP_TOOL_CALL_ID:
        found = hook(span)
        if found is not None:
            return found
    return None


def matches_tool_calls(span: SpanRecord) -> bool:
    """A tool span without a call id that its framework matches to the model's tool call."""
    return any(hook(span) for hook in _MATCHES_TOOL_CALLS)


def covers_stream(span: SpanRecord) -> bool:
    """A streamed call's span that ends with its stream, as its framework records it."""
    return any(hook(span) for hook in _COVERS_STREAM)


def refine_usage(span: SpanRecord, usage: TokenUsage | None) -> TokenUsage | None:
    """A model call's usage as the framework that wrote its span recorded it."""
    for framework in FRAMEWORKS:
        if framework.recognizes(span):
            usage = framework.refine_usage(span, usage)
    return usage


def refine_tool(span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None = None) -> ToolFacts:
    """A tool span's facts, unwrapped from how its framework records tool input and output."""
    for hook in _REFINE_TOOL:
        facts = hook(span, facts, notes)
    return facts


def refine_messages(span: SpanRecord, messages: list[Message]) -> list[Message]:
    """A call's messages in OpenAI format, where a framework re-sends history its own way."""
    for hook in _REFINE_MESSAGES:
        if messages:
            messages = hook(span, messages)
    return messages


def transfer(tool: ToolCall, span: SpanRecord) -> Transfer | None:
    """The handoff a tool call asks for, as its framework says, else None."""
    for framework in FRAMEWORKS:
        found = framework.transfer(tool, span)
        if found is not None:
            return found
    return None


def requested_transfer(tool_name: str, agents: Collection[str]) -> str | None:
    """The agent a model's tool call of this name hands off to, as a framework names it."""
    for framework in FRAMEWORKS:
        found = framework.requested_transfer(tool_name, agents)
        if found is not None:
            return found
    return None


def node_transfer(span: SpanRecord, notes: ValueNotes | None = None) -> Transfer | None:
    """The handoff a span that is not a tool call makes, as its framework says, else None."""
    for hook in _NODE_TRANSFER:
        found = hook(span, notes)
        if found is not None:
            return found
    return None


def refused(tool: ToolCall, to_agent: str) -> bool:
    """True when a framework reads the handoff tool's output as a refusal."""
    return any(f.refused(tool, to_agent) for f in FRAMEWORKS)


def run_answer(root: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The run's answer where a framework records it on the root span, else None."""
    for framework in FRAMEWORKS:
        answer = framework.run_answer(root, notes)
        if answer is not None:
            return answer
    return None


@contextmanager
def fresh_span_tree(frameworks: Iterable[Framework] = FRAMEWORKS) -> Iterator[None]:
    """A context in which every framework starts its own span tree afresh (a new run)."""
    with ExitStack() as stack:
        for framework in frameworks:
            stack.enter_context(framework.fresh_span_tree())
        yield
