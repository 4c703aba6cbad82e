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
from importlib.util import find_spec

from ..conventions import Message, ToolFacts, ValueNotes
from ..run_trace import TokenUsage, ToolCall
from ..spans import SpanRecord

__all__ = ["Framework", "Instrumentation", "Transfer"]


@dataclass(frozen=True, slots=True)
class Instrumentation:
    """The instrumentor that captures a framework: ``module:Class`` and what must be installed."""

    instrumentor: str
    """``module:Class`` of an instrumentor with ``instrument(tracer_provider=...)``."""
    requires: tuple[str, ...]
    """Importable modules that say the framework is installed."""
    extra: str
    """The otel-bridge extra that installs the framework's instrumentation."""

    def installed(self) -> bool:
        """True when the framework and its instrumentor can be imported (nothing is imported)."""
        module = self.instrumentor.partition(":")[0]
        try:
            return all(find_spec(name) is not None for name in (*self.requires, module))
        except (ImportError, ValueError):  # a parent package missing or broken
            return False


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a tool call (or a graph node) asks for when it hands control to another agent;
    ``tool_call_id``: the id of the call a node wrote into the history for it, if any."""

    to_agent: str | None
    reason: str | None
    tool_call_id: str | None = None


class Framework:
    """One agent framework's reading of its spans (every method: nothing to say by default)."""

    name: str = ""
    """The framework label (``labels.framework``): llama_index, smolagents, langgraph, ..."""
    title: str = ""
    """The framework's name for people: LlamaIndex, smolagents, LangGraph, ..."""
    instrumentation: Instrumentation | None = None
    scopes: tuple[str, ...] = ()
    """Instrumentation scope names (prefixes) of the spans its instrumentors write."""

    def installed(self) -> bool:
        """True when the framework and its instrumentor can be imported (nothing is imported)."""
        return self.instrumentation is not None and self.instrumentation.installed()

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

    def is_unnamed_step(self, span: SpanRecord) -> bool:
        """True for a span that is one turn of the agent whose activation is its parent."""
        return False

    def span_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The agent a span names for itself and its children, where the framework says so."""
        return None

    def step_tool_call_id(self, span: SpanRecord) -> str | None:
        """The tool call id a span that runs one tool call carries, else None."""
        return None

    def matches_tool_calls(self, span: SpanRecord) -> bool:
        """True when the tool span carries no call id: match it to its model's tool call."""
        return False

    def covers_stream(self, span: SpanRecord) -> bool:
        """True for a streamed call's span that ends with its stream (not at the first token)."""
        return False

    def refine_usage(self, span: SpanRecord, usage: TokenUsage | None) -> TokenUsage | None:
        """A model call's usage as the framework recorded it (None: it reported none)."""
        return usage

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """A tool span's facts as the framework recorded them (its output wrapper unwrapped)."""
        return facts

    def refine_messages(self, span: SpanRecord, messages: list[Message]) -> list[Message]:
        """A call's messages in OpenAI format, where the framework re-sends history in its own
        form (the span: the call's, which another instrumentation may have written)."""
        return messages

    def recorded_answer(self, span: SpanRecord, notes: ValueNotes | None) -> list[Message]:
        """A model call's answer where the framework records it in its own form and the
        convention's output messages are absent, else []."""
        return []

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """The handoff a tool call asks for, else None (not a handoff tool)."""
        return None

    def requested_transfer(self, tool_name: str, agents: Collection[str]) -> str | None:
        """The agent a tool call the model asked for hands off to, judged by the tool's name
        alone (for instrumentations that record no span of the handoff), else None."""
        return None

    def node_transfer(self, span: SpanRecord, notes: ValueNotes | None) -> Transfer | None:
        """The handoff a span that is not a tool call makes (a graph node passing control)."""
        return None

    def refused(self, tool: ToolCall, to_agent: str) -> bool:
        """True when the handoff tool's own output says the handoff did not happen."""
        return False

    def run_input(self, root: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The task the run was given, where the framework records it on the root span (the
        model may be sent it wrapped in the framework's own words), else None."""
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
