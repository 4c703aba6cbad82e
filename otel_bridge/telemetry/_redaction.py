"""Hiding and masking, per Telemetry: what its capture keeps and its exporters send.

``Telemetry(hide_inputs=..., hide_outputs=..., mask=...)``:

- ``hide_inputs`` / ``hide_outputs`` hide what OpenInference's ``TraceConfig`` hides with the
  same flags (its own rules, applied attribute by attribute: ``input.value`` becomes
  ``__REDACTED__``, ``llm.input_messages.*`` and ``llm.tools.*`` are dropped, ...), and the
  GenAI and OpenLLMetry names of the same content (``gen_ai.input.messages``,
  ``gen_ai.system_instructions``, ``gen_ai.tool.call.arguments``, ``gen_ai.prompt.*``, ...;
  ``gen_ai.output.messages``, ``gen_ai.tool.call.result``, ``gen_ai.completion.*``, ...).
- ``mask`` replaces every match of its patterns by ``__REDACTED__`` in every text of a span:
  attribute values, event attributes (exception messages and stack traces), the status
  description and the span name. ``mask=True`` takes ``SECRET_PATTERNS`` (API keys of the
  common providers, bearer tokens, JWTs); a list of patterns replaces them (add them up with
  ``[*SECRET_PATTERNS, r"..."]``). Patterns match the text as the span holds it (JSON text
  included).

Both apply to the finished spans, in the Telemetry's own processing: the in-memory capture
(``SpanCapture``), so ``spans()`` and every RunTrace derived from them hold nothing hidden, and
each exported span (``EnrichingExporter``), including those the export adds. Hiding keeps a
run's structure: a ``run_agent_step`` whose input is hidden keeps its agent as ``agent.name``,
a ``call_tool`` its tool call id as ``tool_call.id``, so the RunTrace still has its agents,
tool calls and handoffs.

Why not in the instrumentation: LlamaIndex is instrumented once per process
(``_routing``), with OpenInference's default ``TraceConfig``, which reads the
``OPENINFERENCE_HIDE_*`` environment variables. That is the global part: set there, hiding
applies to every Telemetry at the source (the data never enters a span). What a Telemetry is
given applies to it alone, on top, and can only hide more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openinference.instrumentation import REDACTED_VALUE, TraceConfig
from openinference.semconv.trace import SpanAttributes, ToolCallAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status

from .. import conventions as conv
from .. import frameworks as fw
from ..conventions import genai_attributes as genai
from ..spans import SpanEvent, SpanRecord, freeze

__all__ = ["REDACTED", "SECRET_PATTERNS", "Redaction", "compile_patterns"]

REDACTED = REDACTED_VALUE  # OpenInference's marker: one word for everything hidden

SECRET_PATTERNS: tuple[str, ...] = (
    r"\bsk-[A-Za-z0-9_-]{16,}",  # OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), DeepSeek, ...
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",  # an Authorization header's token
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",  # GitHub tokens
    r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face tokens
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
)
"""Common secrets, for ``Telemetry(mask=True)``."""

HIDDEN_WITH_INPUTS = (
    genai.INPUT_MESSAGES,
    genai.SYSTEM_INSTRUCTIONS,
    genai.TOOL_CALL_ARGUMENTS,
    genai.TOOL_DEFINITIONS,
    "traceloop.entity.input",
    "tool.arguments",  # OpenLLMetry's call_tool task
)
HIDDEN_WITH_OUTPUTS = (genai.OUTPUT_MESSAGES, genai.TOOL_CALL_RESULT, "traceloop.entity.output")
INPUT_PREFIXES = (f"{genai.PROMPT_PREFIX}.",)
OUTPUT_PREFIXES = (f"{genai.COMPLETION_PREFIX}.",)
AGENT_NAME = SpanAttributes.AGENT_NAME
TOOL_CALL_ID = ToolCallAttributes.TOOL_CALL_ID

try:  # masking without uploading large images anywhere (newer openinference-instrumentation)
    from openinference.instrumentation.config import mask_without_externalization
except ImportError:  # pragma: no cover - older releases upload nothing
    mask_without_externalization = None  # type: ignore[assignment]


def _oi_mask(config: TraceConfig, key: str, value: Any) -> Any:
    """OpenInference's own hiding rule for one attribute (None: dropped)."""
    if mask_without_externalization is not None:
        return mask_without_externalization(config, key, value)
    return config.mask(key, value)  # pragma: no cover


def compile_patterns(
    patterns: bool | Sequence[str | re.Pattern[str]],
) -> tuple[re.Pattern[str], ...]:
    """``mask`` as compiled patterns: True is ``SECRET_PATTERNS``, False none.

    ``re.error`` for a pattern that does not compile (the caller says which setting).
    """
    if patterns is True:
        patterns = SECRET_PATTERNS
    elif patterns is False:
        return ()
    return tuple(p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns)


def _joined(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
    """The patterns as one alternation (each text scanned once) when their flags allow it."""
    if len(patterns) < 2 or len({p.flags for p in patterns}) != 1:
        return patterns
    try:
        return (re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags),)
    except re.error:  # inline global flags inside one of them: apply them one by one
        return patterns


@dataclass(frozen=True)
class Redaction:
    """What one Telemetry hides and masks; applied to records (capture) and SDK spans (export)."""

    hide_inputs: bool = False
    hide_outputs: bool = False
    patterns: tuple[re.Pattern[str], ...] = ()
    _config: TraceConfig | None = field(init=False, repr=False, compare=False, default=None)
    _maskers: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        hide = self.hide_inputs or self.hide_outputs
        config = TraceConfig(hide_inputs=self.hide_inputs, hide_outputs=self.hide_outputs)
        object.__setattr__(self, "_config", config if hide else None)
        object.__setattr__(self, "_maskers", _joined(self.patterns))

    @property
    def active(self) -> bool:
        """Whether anything is hidden or masked."""
        return self.hide_inputs or self.hide_outputs or bool(self.patterns)

    # ---- values ----------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """A text with every match of the patterns replaced."""
        for masker in self._maskers:
            value = masker.sub(REDACTED, value)
        return value

    def input_text(self, value: str) -> str:
        """Text a run was given (a query), as this Telemetry would keep it: hidden or masked."""
        return REDACTED if self.hide_inputs else self.text(value)

    def output_text(self, value: str) -> str:
        """Text a run gave back (an answer, an error), as this Telemetry would keep it."""
        return REDACTED if self.hide_outputs else self.text(value)

    def value(self, value: Any) -> Any:
        """An attribute value with its texts masked (arrays element by element)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, tuple | list):
            return tuple(self.value(v) for v in value)
        return value

    def attributes(self, name: str, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """A span's attributes with what is hidden removed or redacted and the rest masked."""
        attrs = dict(attributes or {})
        config = self._config
        if config is not None:
            kept = self._structure(name, attrs, config)
            hidden: dict[str, Any] = {}
            for key, value in attrs.items():
                if self._genai_hidden(key):
                    continue
                masked = _oi_mask(config, key, value)
                if masked is not None:
                    hidden[key] = masked
            attrs = {**hidden, **kept}
        if self.patterns:
            attrs = {key: self.value(value) for key, value in attrs.items()}
        return attrs

    def _genai_hidden(self, key: str) -> bool:
        if self.hide_inputs and (key in HIDDEN_WITH_INPUTS or key.startswith(INPUT_PREFIXES)):
            return True
        return self.hide_outputs and (key in HIDDEN_WITH_OUTPUTS or key.startswith(OUTPUT_PREFIXES))

    @staticmethod
    def _structure(name: str, attrs: Mapping[str, Any], config: TraceConfig) -> dict[str, Any]:
        """The agent of a step and the tool call id of a call_tool, when hiding takes them."""
        raw = attrs.get(SpanAttributes.INPUT_VALUE)
        if raw is None or _oi_mask(config, SpanAttributes.INPUT_VALUE, raw) == raw:
            return {}
        probe = SpanRecord(1, 1, None, name, 0, 0, attributes=freeze(attrs))
        kept: dict[str, Any] = {}
        agent = fw.step_agent(probe)
        if agent is not None and not conv.explicit_agent(probe):
            kept[AGENT_NAME] = agent
        call_id = fw.step_tool_call_id(probe)
        if call_id is not None:
            kept[TOOL_CALL_ID] = call_id
        return kept

    # ---- spans -----------------------------------------------------------------------------

    def record(self, record: SpanRecord) -> SpanRecord:
        """A captured span as this Telemetry keeps it."""
        if not self.active:
            return record
        events = tuple(
            SpanEvent(
                self.text(e.name),
                e.time_ns,
                freeze({k: self.value(v) for k, v in e.attributes.items()}),
            )
            for e in record.events
        )
        return replace(
            record,
            name=self.text(record.name),
            status_message=self.text(record.status_message),
            attributes=freeze(self.attributes(record.name, record.attributes)),
            events=events,
        )

    def span(self, span: ReadableSpan) -> ReadableSpan:
        """An exported span as this Telemetry sends it (a copy; the original is untouched)."""
        if not self.active:
            return span
        status = span.status
        if status.description:
            status = Status(status.status_code, self.text(status.description))
        return ReadableSpan(
            name=self.text(span.name),
            context=span.get_span_context(),
            parent=span.parent,
            resource=span.resource,
            attributes=self.attributes(span.name, span.attributes),
            events=[
                Event(
                    self.text(e.name),
                    {k: self.value(v) for k, v in (e.attributes or {}).items()},
                    e.timestamp,
                )
                for e in span.events
            ],
            links=[
                Link(link.context, {k: self.value(v) for k, v in (link.attributes or {}).items()})
                for link in span.links
            ],
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
