"""A panel of frameworks: the questions derivation asks, put to the frameworks that answer them.

Derivation asks some questions of every span. A panel binds, once, the hooks each of its
frameworks really implements (the others say nothing there), and ``of_trace`` seats only the
frameworks whose spans a trace holds, so that a LlamaIndex run pays for LlamaIndex alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from .. import conventions as conv
from ..conventions import Message, ToolFacts, ValueNotes
from ..run_trace import TokenUsage, ToolCall
from ..spans import SpanRecord
from ._base import Framework, Transfer

__all__ = ["Panel", "present_in"]


def _implementing(frameworks: tuple[Framework, ...], hook: str) -> tuple[Any, ...]:
    """The bound ``hook`` of each framework that overrides it."""
    default = getattr(Framework, hook)
    return tuple(getattr(f, hook) for f in frameworks if getattr(type(f), hook) is not default)


class Panel:
    """Frameworks asked in order; each question goes to the ones implementing its hook."""

    def __init__(self, frameworks: tuple[Framework, ...]) -> None:
        self.frameworks = frameworks
        self._is_model_call = _implementing(frameworks, "is_model_call")
        self._step_agent = _implementing(frameworks, "step_agent")
        self._activation_agent = _implementing(frameworks, "activation_agent")
        self._is_unnamed_step = _implementing(frameworks, "is_unnamed_step")
        self._span_agent = _implementing(frameworks, "span_agent")
        self._step_tool_call_id = _implementing(frameworks, "step_tool_call_id")
        self._matches_tool_calls = _implementing(frameworks, "matches_tool_calls")
        self._covers_stream = _implementing(frameworks, "covers_stream")
        self._refine_usage = tuple(
            f for f in frameworks if type(f).refine_usage is not Framework.refine_usage
        )
        self._refine_tool = _implementing(frameworks, "refine_tool")
        self._refine_messages = _implementing(frameworks, "refine_messages")
        self._recorded_answer = _implementing(frameworks, "recorded_answer")
        self._transfer = _implementing(frameworks, "transfer")
        self._requested_transfer = _implementing(frameworks, "requested_transfer")
        self._node_transfer = _implementing(frameworks, "node_transfer")
        self._refused = _implementing(frameworks, "refused")
        self._run_input = _implementing(frameworks, "run_input")
        self._run_answer = _implementing(frameworks, "run_answer")

    def is_model_call(self, span: SpanRecord) -> bool:
        """A model call: an LLM span by its convention that no framework disowns."""
        return conv.is_llm_call(span) and all(hook(span) for hook in self._is_model_call)

    def step_agent(self, span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
        """The agent of a span that is one turn of it (``run_agent_step`` and the like)."""
        for hook in self._step_agent:
            agent = hook(span, notes)
            if agent is not None:
                return agent
        return None

    def activation_agent(self, span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
        """The agent of a span covering one whole activation of it, as a framework names it."""
        for hook in self._activation_agent:
            agent = hook(span, notes)
            if agent is not None:
                return agent
        return None

    def is_unnamed_step(self, span: SpanRecord) -> bool:
        """A span that is one turn of the agent whose activation is its parent (``Step N``)."""
        return any(hook(span) for hook in self._is_unnamed_step)

    def span_agent(self, span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
        """The agent a framework writes on a span for itself and what runs below it."""
        for hook in self._span_agent:
            agent = hook(span, notes)
            if agent is not None:
                return agent
        return None

    def step_tool_call_id(self, span: SpanRecord) -> str | None:
        """The tool call id of a span that runs one tool call (``call_tool``), else None."""
        for hook in self._step_tool_call_id:
            found = hook(span)
            if found is not None:
                return found
        return None

    def matches_tool_calls(self, span: SpanRecord) -> bool:
        """A tool span without a call id that its framework matches to the model's tool call."""
        return any(hook(span) for hook in self._matches_tool_calls)

    def covers_stream(self, span: SpanRecord) -> bool:
        """A streamed call's span that ends with its stream, as its framework records it."""
        return any(hook(span) for hook in self._covers_stream)

    def refine_usage(self, span: SpanRecord, usage: TokenUsage | None) -> TokenUsage | None:
        """A model call's usage as the framework that wrote its span recorded it."""
        for framework in self._refine_usage:
            if framework.recognizes(span):
                usage = framework.refine_usage(span, usage)
        return usage

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None = None
    ) -> ToolFacts:
        """A tool span's facts, unwrapped from how its framework records input and output."""
        for hook in self._refine_tool:
            facts = hook(span, facts, notes)
        return facts

    def refine_messages(self, span: SpanRecord, messages: list[Message]) -> list[Message]:
        """A call's messages in OpenAI format, where a framework re-sends history its own way."""
        for hook in self._refine_messages:
            if messages:
                messages = hook(span, messages)
        return messages

    def recorded_answer(self, span: SpanRecord, notes: ValueNotes | None) -> list[Message]:
        """A model call's answer its framework recorded its own way (when the convention's
        output messages are absent), else []."""
        for hook in self._recorded_answer:
            answer: list[Message] = hook(span, notes)
            if answer:
                return answer
        return []

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """The handoff a tool call asks for, as its framework says, else None."""
        for hook in self._transfer:
            found = hook(tool, span)
            if found is not None:
                return found
        return None

    def requested_transfer(self, tool_name: str, agents: Collection[str]) -> str | None:
        """The agent a model's tool call of this name hands off to, as a framework names it."""
        for hook in self._requested_transfer:
            found = hook(tool_name, agents)
            if found is not None:
                return found
        return None

    def node_transfer(self, span: SpanRecord, notes: ValueNotes | None = None) -> Transfer | None:
        """The handoff a span that is not a tool call makes, as its framework says, else None."""
        for hook in self._node_transfer:
            found = hook(span, notes)
            if found is not None:
                return found
        return None

    def refused(self, tool: ToolCall, to_agent: str) -> bool:
        """True when a framework reads the handoff tool's output as a refusal."""
        return any(hook(tool, to_agent) for hook in self._refused)

    def run_input(self, root: SpanRecord, notes: ValueNotes | None = None) -> str | None:
        """The run's task where a framework records it on the root span, else None."""
        for hook in self._run_input:
            task = hook(root, notes)
            if task is not None:
                return task
        return None

    def run_answer(self, root: SpanRecord, notes: ValueNotes | None = None) -> str | None:
        """The run's answer where a framework records it on the root span, else None."""
        for hook in self._run_answer:
            answer = hook(root, notes)
            if answer is not None:
                return answer
        return None


def present_in(spans: Sequence[SpanRecord], frameworks: tuple[Framework, ...]) -> Panel:
    """The panel of the frameworks whose spans these are (all of them when scopes do not say).

    A framework is present when a span's instrumentation scope is one of its instrumentors';
    the spans that no framework's scope claims (another instrumentation's: the OpenAI
    client's, the run's root) are asked by shape. A trace without any framework's scope (read
    back from a backend that drops scopes, or written by hand) keeps every framework: asking
    each span's shape of every framework would cost what the panel saves.
    """
    scopes = {span.scope for span in spans}
    claimed = {s for s in scopes if any(f.scopes and s.startswith(f.scopes) for f in frameworks)}
    if not claimed:
        return _panel(frameworks)
    present = {f for f in frameworks if f.scopes and any(s.startswith(f.scopes) for s in claimed)}
    absent = [f for f in frameworks if f not in present]
    if len(claimed) < len(scopes):
        for span in spans:
            if not absent:
                break
            if span.scope not in claimed:
                found = [f for f in absent if f.recognizes(span)]
                if found:
                    present.update(found)
                    absent = [f for f in absent if f not in present]
    return _panel(tuple(f for f in frameworks if f in present))


@lru_cache(maxsize=64)
def _panel(frameworks: tuple[Framework, ...]) -> Panel:
    return Panel(frameworks)
