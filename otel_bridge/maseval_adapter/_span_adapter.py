"""A MASEval ``AgentAdapter`` whose data comes from OpenTelemetry spans, for any framework.

``SpanAgentAdapter`` wires three things together: a Telemetry (one root span of ours per run,
so each run is found by its trace id), the framework's run of the agent (``_call_agent``, which
each framework's adapter implements) and derivation (``Telemetry.run_trace``). Everything
MASEval reads (messages, usage, per-agent totals, handoffs, delegations, logs) comes from the
derived RunTraces. A run is derived when its data is first read, as MASEval's own adapters
read their framework's memory, so ``run()`` costs the agent little more than its spans; with
exporters, at the run's end, since its export needs the derivation then.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from maseval import AgentAdapter, MessageHistory
from maseval.core.callback import AgentCallback
from maseval.core.usage import CostCalculator, Usage
from openinference.instrumentation import using_attributes
from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from opentelemetry import trace as trace_api

from ..errors import ServerError, SourceError
from ..run_trace import RunTrace
from ..telemetry import CapturedTrace, Telemetry
from ._runs import RunRecord, conversation, maseval_usage, summarize
from ._telemetries import default_telemetry, project_telemetry

__all__ = ["Conversation", "SpanAgentAdapter", "maseval_labels"]

logger = logging.getLogger(__name__)

ADAPTER_NAME = "maseval.adapter.name"
TASK_ID = "maseval.task.id"
REPETITION = "maseval.task.repetition"
"""Flat root-span attributes, searchable in Jaeger; Phoenix reads the same in ``metadata``."""


def maseval_labels(task: Any, seed_generator: Any = None) -> dict[str, Any]:
    """``task_id`` and ``repetition`` for the adapter, from what ``setup_agents`` receives."""
    labels: dict[str, Any] = {"task_id": str(task.id)}
    try:
        repetition = seed_generator.gather_config().get("rep_index") if seed_generator else None
    except Exception:
        logger.debug("otel-bridge: the seed generator does not say the repetition", exc_info=True)
        repetition = None
    if isinstance(repetition, int):
        labels["repetition"] = repetition
    return labels


@dataclass(slots=True)
class Conversation:
    """One conversation: what carries it from run to run (a framework's state), and its id."""

    session_id: str
    first_run: int
    state: Any = None
    """The framework's own carrier: a workflow Context, a message list, a thread id..."""
    memory: Any = None


class SpanAgentAdapter(AgentAdapter):
    """A MASEval ``AgentAdapter`` fed by OpenTelemetry spans; a framework's adapter subclasses it.

    Every ``run()`` opens a root span on ``telemetry`` (default: ``default_telemetry()``, in
    memory, or with ``project``, ``project_telemetry(project)``) labelled with ``session.id``
    (this conversation) and ``metadata`` (adapter name, ``task_id``, ``repetition``,
    ``metadata``), which OpenInference copies onto every span of the run; the run's RunTrace
    is derived from that trace alone, from the spans captured when the run ended, the first
    time anything reads the adapter's data (``last_run``, ``runs``, ``logs``,
    ``get_messages``, ``gather_*``; or once ``max_pending_runs`` runs wait), or at once when
    the Telemetry exports (its export reuses the derivation). A failing run is kept like any
    other, then its exception propagates. Runs of one adapter are serialised: they form one
    conversation, which the subclass carries on (``_call_agent``); ``reset_conversation()``
    starts a new one.

    Cost: every LLM call is priced on its own, with its own model: by genai-prices, or the
    Telemetry's ``prices`` table, in USD. ``gather_usage().cost`` sums the calls whose cost is
    known and ``units["llm_calls_unpriced"]`` counts the others. A ``cost_calculator`` given
    here wins over those prices for ``gather_usage()``: it is asked once per LLM call with that
    call's model, or with ``model_id`` when given.

    A subclass implements ``_call_agent(query, conversation)`` (run the agent once, return its
    result), and may override ``_new_state()`` (the conversation's carrier),
    ``_answer_text(result)``, ``_agent_config()`` and ``_agent_model()``.
    """

    framework_key = "agent"
    """The key of ``gather_config()`` that describes the agent (``llamaindex``, ``smolagents``)."""
    max_pending_runs = 64
    """Runs kept as captured spans, not yet read; beyond, each run's end derives the oldest (so
    a program that never reads its runs holds at most this many runs' spans)."""

    def __init__(
        self,
        agent_instance: Any,
        name: str,
        telemetry: Telemetry | None = None,
        callbacks: list[AgentCallback] | None = None,
        *,
        project: str | None = None,
        task_id: str | None = None,
        repetition: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        cost_calculator: CostCalculator | None = None,
        model_id: str | None = None,
    ) -> None:
        super().__init__(agent_instance, name, callbacks, cost_calculator, model_id)
        self._own_telemetry = telemetry is not None
        self.project = project
        self.telemetry = telemetry if telemetry is not None else self._shared_telemetry()
        labels = {
            **({"task_id": str(task_id)} if task_id is not None else {}),
            **({"repetition": repetition} if repetition is not None else {}),
            **dict(metadata or {}),
        }
        self.labels: dict[str, Any] = json.loads(json.dumps(labels, default=str))  # JSON-safe
        self._run_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._derive_lock = threading.Lock()  # held while runs are derived, outermost
        self._records: list[RunRecord] = []
        self._derived = 0  # records[:_derived] are derived and in the logs
        self._messages: list[dict[str, Any]] | None = None
        self._conversation = self._new_conversation()

    # ---- what a framework's adapter implements -------------------------------------------

    def _call_agent(self, query: str, talk: Conversation) -> Any:
        """Run the agent once on ``query``, continuing ``talk``; return its result."""
        raise NotImplementedError

    def _new_state(self) -> Any:
        """The carrier of a new conversation (None: the framework needs none)."""
        return None

    def _answer_text(self, result: Any) -> str:
        """The answer text of a run's result."""
        return "" if result is None else str(result)

    def _no_answer(self, result: Any) -> str:
        """What MASEval gets from a run that gave no answer text (it asks for a non-empty str)."""
        return f"(no answer: the agent returned {'None' if result is None else 'an empty answer'})"

    def _silence_hint(self) -> str:
        """What may keep the framework's spans from arriving (said when a run has none)."""
        return "Is its instrumentation off, or are its spans sent to another TracerProvider?"

    def _agent_config(self) -> dict[str, Any]:
        """A JSON description of the agent for ``gather_config()``."""
        return {"type": type(self.agent).__name__}

    def _agent_model(self) -> str | None:
        """The model of the agent's LLM, when it can be read."""
        return None

    # ---- running ------------------------------------------------------------------------

    def _run_agent(self, query: str) -> str:
        with self._run_lock:
            with self._state_lock:
                talk = self._conversation
            # What the adapter keeps of the run is hidden and masked as its Telemetry's spans are.
            kept_query = self.telemetry.redaction.input_text(query)
            record = RunRecord(query=kept_query, session_id=talk.session_id, started_at=time.time())
            clock = time.perf_counter()
            span: trace_api.Span | None = None
            try:
                with self._run_scope(query, record) as span:
                    try:
                        result = self._call_agent(query, talk)
                    except BaseException as exc:
                        # OpenTelemetry marks a span failed for an Exception only: an interrupt
                        # (KeyboardInterrupt, SystemExit) must fail the run's root span too.
                        if span is not None and not isinstance(exc, Exception):
                            span.record_exception(exc)
                            span.set_status(trace_api.Status(trace_api.StatusCode.ERROR, repr(exc)))
                        raise
                    answer = self._answer_text(result)
                    if span is not None and answer:
                        span.set_attribute(SpanAttributes.OUTPUT_VALUE, answer)
                    if not answer:  # MASEval asks for a non-empty str; the issues say why
                        answer = self._no_answer(result)
                        record.issues.append("no_answer")
            except BaseException as exc:
                self._finish(record, clock, span, exc)
                raise
            self._finish(record, clock, span, None)
            return answer

    def _shared_telemetry(self) -> Telemetry:
        """The process-wide Telemetry of ``project``, or the in-memory default without one."""
        return project_telemetry(self.project) if self.project is not None else default_telemetry()

    @contextmanager
    def _run_scope(self, query: str, record: RunRecord) -> Iterator[trace_api.Span | None]:
        """Labels and the root span of one run; the run goes on without them if they fail."""
        stack = ExitStack()
        span: trace_api.Span | None = None
        try:
            if self.telemetry.closed:
                if self._own_telemetry:
                    raise ServerError("the adapter's Telemetry has been shut down")
                self.telemetry = self._shared_telemetry()  # the shared one was closed: anew
            metadata = {"adapter": self.name, **self.labels}
            stack.enter_context(using_attributes(session_id=record.session_id, metadata=metadata))
            span = stack.enter_context(
                self.telemetry.start_run(f"{self.name}.run", self._root_attributes(query, record))
            )
        except Exception:
            logger.exception("otel-bridge: no telemetry for run of %r; running without", self.name)
            record.issues.append("telemetry_unavailable")
            stack.close()
            span = None
        with stack:
            yield span

    def _root_attributes(self, query: str, record: RunRecord) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.AGENT.value,
            SpanAttributes.INPUT_VALUE: query,
            SpanAttributes.SESSION_ID: record.session_id,
            SpanAttributes.METADATA: json.dumps({"adapter": self.name, **self.labels}, default=str),
            ADAPTER_NAME: self.name,
        }
        if "task_id" in self.labels:
            attributes[TASK_ID] = str(self.labels["task_id"])
        if isinstance(self.labels.get("repetition"), int):
            attributes[REPETITION] = self.labels["repetition"]
        return attributes

    def _finish(
        self,
        record: RunRecord,
        clock: float,
        span: trace_api.Span | None,
        error: BaseException | None,
    ) -> None:
        """Keep the run and its captured spans; never raises, so neither answer nor error is
        lost. The spans are derived when the adapter's data is first read (``_derive_runs``),
        or now when the Telemetry exports them."""
        record.duration_s = time.perf_counter() - clock
        if error is not None:
            record.status = "error"
            record.error = self.telemetry.redaction.output_text(str(error) or repr(error))
            record.error_type = type(error).__name__
        if span is not None:
            record.trace_id = trace_api.format_trace_id(span.get_span_context().trace_id)
            try:
                record.captured = self.telemetry.capture.snapshot(record.trace_id)
            except Exception:
                logger.exception("otel-bridge: could not read the spans of run %s", record.trace_id)
                record.issues.append("derive_failed")
            if not self._own_telemetry:  # nobody else reads the default's spans: keep no copy
                self.telemetry.capture.discard(record.trace_id)
        with self._state_lock:
            self._records.append(record)
            self._messages = None
        if self.telemetry.exporters:
            self._derive_runs()
        elif len(self._records) - self._derived > self.max_pending_runs:
            self._derive_runs(len(self._records) - self.max_pending_runs)  # the oldest waiting

    def _derive_runs(self, upto: int | None = None) -> list[RunRecord]:
        """Every run so far (the first ``upto``), each derived once (in order) and logged;
        never raises."""
        with self._derive_lock:
            with self._state_lock:
                records = list(self._records)
            for record in records[self._derived : upto]:
                captured, record.captured = record.captured, None
                if captured is not None:  # (kept only for a run with a trace id)
                    record.trace = self._derive(record, captured)
                self._logs.append(record.log_entry())
                self._derived += 1
        return records

    def _derive(self, record: RunRecord, captured: CapturedTrace) -> RunTrace | None:
        trace: RunTrace | None = None
        try:
            trace = self.telemetry.run_trace(record.trace_id or "", captured)
        except SourceError:
            logger.warning("otel-bridge: no spans were captured for run %s", record.trace_id)
            record.issues.append("no_spans")
        except Exception:
            logger.exception("otel-bridge: could not derive run %s", record.trace_id)
            record.issues.append("derive_failed")
        if record.status == "success" and trace is not None and not trace.llm_calls:
            logger.warning(
                "otel-bridge: the run of %r answered, but no span of its model calls "
                "arrived: its messages, tokens and tool calls are missing. %s",
                self.name,
                self._silence_hint(),
            )
        return trace

    @property
    def logs(self) -> list[dict[str, Any]]:
        """MASEval's ``logs``: an entry per run, with its tokens, cost and issues."""
        self._derive_runs()
        return self._logs

    @logs.setter
    def logs(self, value: list[dict[str, Any]]) -> None:
        self._logs = value  # (set by MASEval's AgentAdapter.__init__)

    # ---- conversation ---------------------------------------------------------------------

    def _new_conversation(self) -> Conversation:
        return Conversation(uuid.uuid4().hex, first_run=len(self._records), state=self._new_state())

    def reset_conversation(self) -> None:
        """Start a new conversation (new Context, memory and session id); past runs stay."""
        with self._run_lock:
            conversation_ = self._new_conversation()
            with self._state_lock:
                self._conversation = conversation_
                self._messages = None

    @property
    def session_id(self) -> str:
        """The current conversation's id, written as ``session.id`` on its spans."""
        return self._conversation.session_id

    @property
    def runs(self) -> list[RunTrace]:
        """The RunTrace of every run so far (runs whose spans could not be derived are absent)."""
        return [r.trace for r in self._derive_runs() if r.trace is not None]

    @property
    def last_run(self) -> RunTrace | None:
        """The RunTrace of the latest run, None before the first or if it could not be derived."""
        records = self._derive_runs()
        return records[-1].trace if records else None

    # ---- what MASEval reads ---------------------------------------------------------------

    def get_messages(self) -> MessageHistory:
        """The current conversation in OpenAI format (each message also names its ``agent``)."""
        self._derive_runs()
        with self._state_lock:
            if self._messages is None:
                self._messages = conversation(self._records[self._conversation.first_run :])
            return MessageHistory([dict(m) for m in self._messages])

    def gather_traces(self) -> dict[str, Any]:
        """MASEval's keys plus ``runs``, ``trace_ids``, ``usage``, ``agents``, ``handoffs``,
        ``delegations``, ``timings`` and ``issues``, all derived from spans."""
        records = self._derive_runs()
        summary = summarize([r.trace for r in records if r.trace is not None])
        issues = [i for r in records for i in r.issues] + summary.pop("issues")
        return {
            **super().gather_traces(),
            "session_id": self.session_id,
            "labels": dict(self.labels),
            "runs": [r.trace.to_dict() for r in records if r.trace is not None],
            "trace_ids": [r.trace_id for r in records if r.trace_id],
            **summary,
            "issues": list(dict.fromkeys(issues)),
        }

    def gather_config(self) -> dict[str, Any]:
        """The agent, telemetry settings and labels; never raises."""
        try:
            agent = self._agent_config()
        except Exception as exc:
            logger.debug("otel-bridge: could not describe the agent", exc_info=True)
            agent = {"error": f"{type(exc).__name__}: {exc}"}
        return {
            **super().gather_config(),
            self.framework_key: agent,
            "telemetry": self._telemetry_settings(),
            "labels": dict(self.labels),
        }

    def _telemetry_settings(self) -> dict[str, Any]:
        try:
            return self.telemetry.config.describe()
        except Exception as exc:
            logger.debug("otel-bridge: could not describe the telemetry", exc_info=True)
            return {"error": f"{type(exc).__name__}: {exc}"}

    def _gather_usage(self) -> Usage:
        """Tokens and cost summed over every LLM call of every run (``Usage()`` before the
        first)."""
        traces = self.runs
        if not traces:
            return Usage()
        return maseval_usage(traces, self._cost_calculator, self._model_id)

    def _resolve_cost_calculator(self) -> CostCalculator | None:
        """None: MASEval would price the summed tokens at one model's rate; calls are priced
        one by one in ``_gather_usage`` instead."""
        return None

    def _resolve_model_id(self) -> str | None:
        """The model of the agent's LLM."""
        try:
            return self._agent_model()
        except Exception:
            logger.debug("otel-bridge: could not read the agent's model", exc_info=True)
            return None
