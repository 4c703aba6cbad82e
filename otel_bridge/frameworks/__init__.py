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

from .. import conventions as conv
from ..conventions import ToolFacts, ValueNotes
from ..errors import ConfigError
from ..run_trace import ToolCall
from ..spans import SpanRecord
from ._base import AgentCall, Framework, Instrumentation, Transfer
from ._llama_index import LLAMA_INDEX
from ._openai_agents import OPENAI_AGENTS

__all__ = [
    "FRAMEWORKS",
    "AgentCall",
    "Framework",
    "Instrumentation",
    "Transfer",
    "activation_agent",
    "agent_call",
    "by_name",
    "framework_of",
    "fresh_span_tree",
    "is_model_call",
    "refine_messages",
    "refine_tool",
    "refused",
    "requested_transfer",
    "select",
    "span_agent",
    "step_agent",
    "step_tool_call_id",
    "transfer",
]

FRAMEWORKS: tuple[Framework, ...] = (
    LLAMA_INDEX,
    OPENAI_AGENTS,
)
"""Every framework otel-bridge knows, in the order they are asked."""


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
    return conv.is_llm_call(span) and all(f.is_model_call(span) for f in FRAMEWORKS)


def step_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of a span that is one turn of it (``run_agent_step`` and the like), else None."""
    for framework in FRAMEWORKS:
        agent = framework.step_agent(span, notes)
        if agent is not None:
            return agent
    return None


def activation_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of a span covering one whole activation of it, as a framework names it."""
    for framework in FRAMEWORKS:
        agent = framework.activation_agent(span, notes)
        if agent is not None:
            return agent
    return None


def span_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent a framework writes on a span for itself and what runs below it."""
    for framework in FRAMEWORKS:
        agent = framework.span_agent(span, notes)
        if agent is not None:
            return agent
    return None


def step_tool_call_id(span: SpanRecord) -> str | None:
    """The tool call id of a span that runs one tool call (``call_tool``), else None."""
    for framework in FRAMEWORKS:
        found = framework.step_tool_call_id(span)
        if found is not None:
            return found
    return None


def refine_tool(span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None = None) -> ToolFacts:
    """A tool span's facts, unwrapped from how its framework records tool input and output."""
    for framework in FRAMEWORKS:
        facts = framework.refine_tool(span, facts, notes)
    return facts


def refine_messages(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """Messages in OpenAI format where a framework re-sends history in a form of its own."""
    for framework in FRAMEWORKS:
        messages = framework.refine_messages(messages)
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


def refused(tool: ToolCall, to_agent: str) -> bool:
    """True when a framework reads the handoff tool's output as a refusal."""
    return any(f.refused(tool, to_agent) for f in FRAMEWORKS)


def agent_call(tool: ToolCall, span: SpanRecord) -> AgentCall | None:
    """The agent a tool call runs and returns from (a delegation), as its framework says."""
    for framework in FRAMEWORKS:
        found = framework.agent_call(tool, span)
        if found is not None:
            return found
    return None


@contextmanager
def fresh_span_tree(frameworks: Iterable[Framework] = FRAMEWORKS) -> Iterator[None]:
    """A context in which every framework starts its own span tree afresh (a new run)."""
    with ExitStack() as stack:
        for framework in frameworks:
            stack.enter_context(framework.fresh_span_tree())
        yield
