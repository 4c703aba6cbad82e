"""Enrichment before export: every exported span says which agent it belongs to.

LlamaIndex's OpenInference spans name the agent only inside a step's input repr, so Jaeger and
Phoenix show neither who made a call nor where a handoff happened. Before export each trace is
derived (``derive``) and its spans are copied with: on LLM, TOOL and step spans ``agent.name``,
``graph.node.id``/``.name`` (the agent), ``graph.node.parent_id`` (who first handed off to it,
else the workflow node) and ``gen_ai.agent.name``; on handoff tool spans the handoff source and
target; on the workflow and root spans the whole user input and final answer. No agent name
goes on the workflow or run span, nor above a call derive leaves without an agent: derive()
gives the same RunTrace from enriched spans as from plain ones.

``EnrichingExporter`` sits behind a ``BatchSpanProcessor``: the work runs on export threads,
never the agent's. It buffers spans per trace and exports a trace ``grace_s`` after its root
arrives (LlamaIndex children may end after the root), after ``max_wait_s`` if the root never
ends, and on ``force_flush``/``shutdown``. A flushed trace's records stay ``linger_s`` so late
children are enriched from the whole trace. Over ``max_traces``/``max_spans`` lingering traces
are forgotten first, then the oldest pending trace is exported as it is, counted in
``overflow_spans``: nothing is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from . import conventions as conv
from .conventions import genai
from .derive import derive
from .model import LLMCall, RunTrace, ToolCall
from .spans import SpanIndex, SpanRecord, from_readable_span

__all__ = ["EnrichingExporter", "EnrichingSpanProcessor", "enrich_span", "enrichment"]

logger = logging.getLogger(__name__)

AGENT_KEYS = (SpanAttributes.AGENT_NAME, SpanAttributes.GRAPH_NODE_NAME, genai.AGENT_NAME)
AGENT_KINDS = frozenset(
    {OpenInferenceSpanKindValues.LLM.value, OpenInferenceSpanKindValues.TOOL.value}
)
TEXT = OpenInferenceMimeTypeValues.TEXT.value

Extra = dict[str, Any]


# ---- what to add: pure, over one trace's records ------------------------------------------


def enrichment(records: Sequence[SpanRecord]) -> dict[int, Extra]:
    """Attributes to add, by span id, to the spans of one trace (from its derivation)."""
    run = derive(records)
    index = SpanIndex(list(records))
    steps = [s for s in index.spans if conv.step_agent(s)]
    agents = _agents_by_span(run, index, steps)
    workflow = (index.parent(steps[0]) if steps else None) or (index.roots or index.orphans)[0]
    parents = _node_parents(run, agents, workflow.name)
    blocked = _shadowing(run, index, agents)
    extra: dict[int, Extra] = {}
    for span_id, agent in agents.items():
        if span_id not in blocked:
            extra[span_id] = {
                **dict.fromkeys(AGENT_KEYS, agent),
                SpanAttributes.GRAPH_NODE_ID: agent,
                SpanAttributes.GRAPH_NODE_PARENT_ID: parents[agent],
            }
    tools = {(t.start_ns, t.tool_call_id): t for t in run.tool_calls}
    for handoff in run.handoffs:
        tool = tools.get((handoff.at_ns, handoff.tool_call_id))
        if tool is not None:
            attrs = extra.setdefault(int(tool.span_id, 16), {})
            attrs[genai.HANDOFF_TARGET] = handoff.to_agent
            if handoff.from_agent:
                attrs[genai.HANDOFF_SOURCE] = handoff.from_agent
    io = _run_io(run)
    for span in {workflow.span_id: workflow, **{r.span_id: r for r in index.roots}}.values():
        if span.span_id not in agents and not _read_by_derive(span):
            attrs = extra.setdefault(span.span_id, {})
            attrs.update(io)
            if span is workflow and agents:
                attrs[SpanAttributes.GRAPH_NODE_ID] = workflow.name
            if not attrs:
                del extra[span.span_id]
    return extra


def _agents_by_span(run: RunTrace, index: SpanIndex, steps: list[SpanRecord]) -> dict[int, str]:
    """The agent of each step, LLM and tool span (as derived); steps first, in start order."""
    agents: dict[int, str] = {s.span_id: str(conv.step_agent(s)) for s in steps}
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    call_ids = {int(call.span_id, 16) for call in calls}
    for call in calls:
        if call.agent:
            agents[int(call.span_id, 16)] = call.agent
    for span in index.spans:
        # Tool preparation and nested LLM spans (not calls): the agent of the call or step
        # around them. A call keeps the agent derive gave it, even none.
        if (
            span.span_id not in call_ids
            and span.span_id not in agents
            and span.attributes.get(SpanAttributes.OPENINFERENCE_SPAN_KIND) in AGENT_KINDS
        ):
            agent = next(
                (agents[p.span_id] for p in index.ancestors(span) if p.span_id in agents), None
            )
            if agent is not None:
                agents[span.span_id] = agent
    return agents


def _node_parents(run: RunTrace, agents: Mapping[int, str], root_node: str) -> dict[str, str]:
    """Graph parent of each agent: who first handed off to it; the first agent's is the root."""
    first = next(iter(agents.values()), None)
    parents = dict.fromkeys(agents.values(), root_node)
    handed: set[str] = set()
    for handoff in run.handoffs:
        target = handoff.to_agent
        if target != first and target not in handed and handoff.from_agent:
            handed.add(target)
            parents[target] = handoff.from_agent
    return parents


def _shadowing(run: RunTrace, index: SpanIndex, agents: Mapping[int, str]) -> set[int]:
    """Spans that must not carry an agent name: a call below them has no agent in derive.

    For example an LLM called inside a tool: its only agent-named ancestor would be the tool.
    """
    blocked: set[int] = set()
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    for call in calls:
        if call.agent:
            continue
        span = index.by_id.get(int(call.span_id, 16))
        for parent in index.ancestors(span) if span else ():
            if conv.explicit_agent(parent) or conv.step_agent(parent):
                break
            if parent.span_id in agents:
                blocked.add(parent.span_id)
    return blocked


def _read_by_derive(span: SpanRecord) -> bool:
    """True for spans whose input/output derive reads (calls, tools and steps)."""
    return bool(
        conv.is_llm_call(span)
        or conv.is_tool(span)
        or conv.step_agent(span)
        or conv.step_tool_call_id(span)
    )


def _run_io(run: RunTrace) -> Extra:
    io: Extra = {}
    for key, mime, value in (
        (SpanAttributes.INPUT_VALUE, SpanAttributes.INPUT_MIME_TYPE, run.input),
        (SpanAttributes.OUTPUT_VALUE, SpanAttributes.OUTPUT_MIME_TYPE, run.output),
    ):
        if value is not None:
            io[key], io[mime] = value, TEXT
    return io


def enrich_span(span: ReadableSpan, extra: Mapping[str, Any]) -> ReadableSpan:
    """A copy of a finished span with ``extra`` merged into its attributes (original untouched)."""
    if not extra:
        return span
    attributes = BoundedAttributes(attributes={**(span.attributes or {}), **extra})
    attributes.dropped = span.dropped_attributes  # what the SDK's limits dropped stays counted
    # Dropped event/link counts live on the SDK's private bounded lists; keep those too.
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=getattr(span, "_events", span.events),
        links=getattr(span, "_links", span.links),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


# ---- when: a per-trace buffer in the export thread ----------------------------------------


@dataclass(slots=True)
class _Trace:
    records: list[SpanRecord] = field(default_factory=list)
    pending: list[ReadableSpan] = field(default_factory=list)
    since: float = 0.0  # arrival of the oldest pending span
    root_at: float | None = None  # arrival of the root span
    seen_at: float = 0.0  # last arrival


_Work = tuple[list[SpanRecord], list[ReadableSpan]]


class EnrichingExporter(SpanExporter):
    """Buffers finished spans per trace and exports each trace enriched (see the module doc)."""

    def __init__(
        self,
        inner: SpanExporter,
        *,
        grace_s: float = 1.0,
        max_wait_s: float = 30.0,
        linger_s: float = 120.0,
        max_traces: int = 256,
        max_spans: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        if max_traces < 1 or max_spans < 1:
            raise ValueError("enrichment buffer limits must be at least 1")
        self.inner = inner
        self.grace_s, self.max_wait_s, self.linger_s = grace_s, max_wait_s, linger_s
        self.max_traces, self.max_spans = max_traces, max_spans
        self.enriched_spans = self.overflow_spans = self.failures = 0
        self._clock, self._timer = clock, timer
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._export_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Buffer the batch and export the traces that are due; never raises."""
        try:
            passthrough, overflow = self._add(spans)
            if passthrough or overflow:
                self._send([*passthrough, *overflow])
            self._flush(self._take(force=False))
        except Exception:
            self._failed("could not buffer or enrich spans")
        return SpanExportResult.SUCCESS

    def flush_due(self) -> None:
        """Export the traces whose time has come (the timer thread does this by itself)."""
        self._flush(self._take(force=False))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every buffered span now, enriched with what is known of its trace."""
        self._flush(self._take(force=True))
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Export what is left, stop the timer and shut the wrapped exporter down."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.grace_s + 5.0)
        self._flush(self._take(force=True))
        self.inner.shutdown()

    def held(self) -> tuple[int, int]:
        """Traces and spans held right now (pending, or kept for late children)."""
        with self._lock:
            return len(self._traces), self._held

    # ---- buffer -----------------------------------------------------------------------------

    def _add(self, spans: Sequence[ReadableSpan]) -> tuple[list[ReadableSpan], list[ReadableSpan]]:
        """Buffer spans; return those that cannot be buffered and those pushed out by the bounds."""
        converted, passthrough = [], []
        for span in spans:
            try:
                converted.append((from_readable_span(span), span))
            except Exception:  # no span context: cannot be grouped, export it as it is
                self._failed("could not read a span")
                passthrough.append(span)
        overflow: list[ReadableSpan] = []
        with self._lock:
            now = self._clock()
            for record, span in converted:
                trace = self._traces.get(record.trace_id)
                if trace is None:
                    trace = self._traces[record.trace_id] = _Trace()
                if not trace.pending:
                    trace.since = now
                trace.records.append(record)
                trace.pending.append(span)
                trace.seen_at = now
                if span.parent is None or span.parent.is_remote:
                    trace.root_at = now
                self._held += 1
            overflow = self._enforce_bounds()
            if self._timer and self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run_timer, name="otel-bridge-enrich", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        if overflow and not self.overflow_spans:
            logger.warning("otel-bridge: enrichment buffer full; exporting spans un-enriched")
        self.overflow_spans += len(overflow)
        return passthrough, overflow

    def _enforce_bounds(self) -> list[ReadableSpan]:
        overflow: list[ReadableSpan] = []
        while len(self._traces) > self.max_traces or self._held > self.max_spans:
            lingering = next((t for t, b in self._traces.items() if not b.pending), None)
            victim = lingering if lingering is not None else next(iter(self._traces))
            trace = self._traces.pop(victim)
            self._held -= len(trace.records)
            overflow.extend(trace.pending)
        return overflow

    def _due_at(self, trace: _Trace) -> float:
        if not trace.pending:
            return trace.seen_at + self.linger_s  # forget the records then
        due = trace.since + self.max_wait_s
        if trace.root_at is not None:
            due = min(due, trace.root_at + self.grace_s)
        return due

    def _take(self, force: bool) -> list[_Work]:
        with self._lock:
            return self._take_locked(self._clock(), force)

    def _take_locked(self, now: float, force: bool) -> list[_Work]:
        work: list[_Work] = []
        for trace_id, trace in list(self._traces.items()):
            if not force and self._due_at(trace) > now:
                continue
            if trace.pending:
                work.append((list(trace.records), trace.pending))
                trace.pending = []
            elif not force:
                del self._traces[trace_id]
                self._held -= len(trace.records)
        return work

    def _run_timer(self) -> None:
        """Sleep until the next trace is due (no polling), then flush it."""
        while True:
            with self._lock:
                while not self._closed:
                    now = self._clock()
                    due = min((self._due_at(t) for t in self._traces.values()), default=None)
                    if due is not None and due <= now:
                        break
                    self._wake.wait(None if due is None else due - now)
                if self._closed:
                    return
                work = self._take_locked(now, force=False)
            self._flush(work)

    # ---- enrich and send ----------------------------------------------------------------------

    def _flush(self, work: list[_Work]) -> None:
        batch: list[ReadableSpan] = []
        enriched = 0
        for records, pending in work:
            try:
                extra = enrichment(records)
            except Exception:
                self._failed("could not derive a trace for enrichment; exporting it as it is")
                extra = {}
            for span in pending:
                ctx = span.get_span_context()
                added = extra.get(ctx.span_id) if ctx is not None else None
                batch.append(enrich_span(span, added) if added else span)
                enriched += bool(added)
        if batch:
            with self._lock:
                self.enriched_spans += enriched
            self._send(batch)

    def _send(self, spans: list[ReadableSpan]) -> None:
        with self._export_lock:
            try:
                self.inner.export(spans)
            except Exception:
                self._failed("exporter raised")

    def _failed(self, what: str) -> None:
        self.failures += 1
        if self.failures == 1:
            logger.exception("otel-bridge: %s (further failures are counted, not logged)", what)


class EnrichingSpanProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` whose exporter enriches each trace before the real export."""

    def __init__(
        self, exporter: SpanExporter, schedule_delay_millis: float = 500, **options: Any
    ) -> None:
        self.enricher = EnrichingExporter(exporter, **options)
        self._batch = BatchSpanProcessor(self.enricher, schedule_delay_millis=schedule_delay_millis)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do before the span ends."""
        self._batch.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the finished span (cheap; enrichment happens on the export threads)."""
        self._batch.on_end(span)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Drain the queue into the buffer, then export every buffered span."""
        drained = self._batch.force_flush(timeout_millis)
        return self.enricher.force_flush(timeout_millis) and drained

    def shutdown(self) -> None:
        """Export what is left and stop (the batch processor shuts the enricher down)."""
        self._batch.shutdown()
