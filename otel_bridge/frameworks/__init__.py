"""Agent frameworks: what each one instruments, and what its spans mean.

``conventions`` reads attributes the same way whatever framework wrote them; a framework
module (one per framework, each a ``Framework``) says which spans are its agents' turns and
activations, which tool calls hand control to another agent (handoffs) or run another agent
and get control back (delegations), how its tool spans record their input and output, and
which instrumentor captures it. Derivation asks the ``Panel`` of a trace's frameworks
(``of_trace``); telemetry asks the functions below, which ask every framework in
``FRAMEWORKS``. Adding a framework means adding one module to that tuple.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from ..errors import ConfigError
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer
from ._langgraph import LANGGRAPH
from ._llama_index import LLAMA_INDEX
from ._openai_agents import OPENAI_AGENTS
from ._panel import Panel, present_in
from ._smolagents import SMOLAGENTS

__all__ = [
    "EVERY",
    "FRAMEWORKS",
    "Framework",
    "Instrumentation",
    "Panel",
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
    "of_trace",
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


EVERY = Panel(FRAMEWORKS)
"""Every framework, for spans whose trace is not at hand."""


def of_trace(spans: Sequence[SpanRecord]) -> Panel:
    """The frameworks a trace's spans come from (every one when none is recognized)."""
    return present_in(spans, FRAMEWORKS)


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


is_model_call = EVERY.is_model_call
step_agent = EVERY.step_agent
activation_agent = EVERY.activation_agent
is_unnamed_step = EVERY.is_unnamed_step
span_agent = EVERY.span_agent
step_tool_call_id = EVERY.step_tool_call_id
matches_tool_calls = EVERY.matches_tool_calls
covers_stream = EVERY.covers_stream
refine_usage = EVERY.refine_usage
refine_tool = EVERY.refine_tool
refine_messages = EVERY.refine_messages
transfer = EVERY.transfer
requested_transfer = EVERY.requested_transfer
node_transfer = EVERY.node_transfer
refused = EVERY.refused
run_answer = EVERY.run_answer


@contextmanager
def fresh_span_tree(frameworks: Iterable[Framework] = FRAMEWORKS) -> Iterator[None]:
    """A context in which every framework starts its own span tree afresh (a new run)."""
    with ExitStack() as stack:
        for framework in frameworks:
            stack.enter_context(framework.fresh_span_tree())
        yield
