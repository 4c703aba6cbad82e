"""What an agent framework is to otel-bridge: the interface each framework module implements.

A convention (``conventions/``) says what an attribute means, whatever wrote it; a framework
says what its spans mean: which span is one turn of which agent, which tool call passes control
(a handoff) or calls another agent and gets control back (a delegation), what its tool spans
record, and which instrumentor captures it. Every method has a default meaning "this framework
has nothing to say", so a framework implements only what its spans need.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..conventions import Message, ToolFacts, ValueNotes
from ..run_trace import ToolCall
from ..spans import SpanRecord

__all__ = ["AgentCall", "Framework", "Instrumentation", "Transfer"]


@dataclass(frozen=True, slots=True)
class Instrumentation:
    """The instrumentor that captures a framework: ``module:Class`` and what must be installed."""

    instrumentor: str
    """``module:Class`` of an instrumentor with ``instrument(tracer_provider=...)``."""
    requires: tuple[str, ...]
    """Importable modules that say the framework is installed."""
    extra: str
    """The otel-bridge extra that installs the framework's instrumentation."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a tool call asks for when it hands control to another agent."""

    to_agent: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class AgentCall:
    """Another agent run as a tool: the tool call, who was called, with which task."""

    to_agent: str
    task: str | None


class Framework:
    """One agent framework's reading of its spans (every method: nothing to say by default)."""

    name: str = ""
    """The framework label (``labels.framework``): llama_index, smolagents, langgraph, ..."""
    title: str = ""
    """The framework's name for people: LlamaIndex, smolagents, LangGraph, ..."""
    instrumentation: Instrumentation | None = None
    scopes: tuple[str, ...] = ()
    """Instrumentation scope names (prefixes) of the spans its instrumentors write."""

    def recognizes(self, span: SpanRecord) -> bool:
        """True when the span was written for this framework (by scope, else by its shape)."""
        return bool(self.scopes) and span.scope.startswith(self.scopes)

    def is_model_call(self, span: SpanRecord) -> bool:
        """False for an LLM-kind span of the framework's own that calls no model."""
        return True

    def step_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The agent of a span that is one turn of that agent, else None."""
        return None

    def activation_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The agent of a span covering one whole activation of it (a run of the agent)."""
        return None

    def span_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The agent a span names for itself and its children, where the framework says so."""
        return None

    def step_tool_call_id(self, span: SpanRecord) -> str | None:
        """The tool call id a span that runs one tool call carries, else None."""
        return None

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """A tool span's facts as the framework recorded them (its output wrapper unwrapped)."""
        return facts

    def refine_messages(self, messages: list[Message]) -> list[Message]:
        """Messages in OpenAI format, where the framework re-sends history in its own form."""
        return messages

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """The handoff a tool call asks for, else None (not a handoff tool)."""
        return None

    def requested_transfer(self, tool_name: str, agents: Collection[str]) -> str | None:
        """The agent a tool call the model asked for hands off to, judged by the tool's name
        alone (for instrumentations that record no span of the handoff), else None."""
        return None

    def refused(self, tool: ToolCall, to_agent: str) -> bool:
        """True when the handoff tool's own output says the handoff did not happen."""
        return False

    def agent_call(self, tool: ToolCall, span: SpanRecord) -> AgentCall | None:
        """The agent a tool call runs and returns from (a delegation), else None."""
        return None

    def run_answer(self, root: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The run's answer where the framework records it on the root span, else None."""
        return None

    @contextmanager
    def fresh_span_tree(self) -> Iterator[None]:
        """A context in which the framework starts its own span tree afresh (a new run)."""
        yield

    def __repr__(self) -> str:
        return f"<framework {self.name}>"
