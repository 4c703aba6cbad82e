"""derive() with its DEBUG log of the values the readers coerced or rejected, one line each."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from otel_bridge import RunTrace, derive
from otel_bridge.conventions import genai_attributes as g
from otel_bridge.spans import SpanEvent, SpanRecord

MS = 1_000_000
_LOGGER = "otel_bridge.derivation"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def derive_logged(spans: Sequence[SpanRecord]) -> tuple[RunTrace, list[str]]:
    """The RunTrace of ``spans`` and the value problems derive() logged, without the trace id.

    Each line reads ``span 0000000000000002 attribute NAME: coerced|rejected VALUE (RULE)``.
    """
    logger = logging.getLogger(_LOGGER)
    handler = _Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        run = derive(spans)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return run, [line.split(": ", 1)[1] for line in handler.lines if line.startswith("trace ")]


def record(
    span_id: int,
    parent: int | None,
    name: str,
    start_ms: float,
    end_ms: float,
    attributes: dict[str, Any] | None = None,
    *,
    status: str = "UNSET",
    status_message: str = "",
    events: tuple[SpanEvent, ...] = (),
    trace_id: int = 0xABC,
) -> SpanRecord:
    """One span of a hand-built trace, times in ms."""
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent,
        name=name,
        start_ns=int(start_ms * MS),
        end_ns=int(end_ms * MS),
        status=status,  # type: ignore[arg-type]
        status_message=status_message,
        attributes=MappingProxyType(attributes or {}),
        events=events,
    )


def invoke_agent(
    span_id: int, parent: int | None, name: str, start: float, end: float
) -> SpanRecord:
    """A GenAI ``invoke_agent`` span of agent ``name``."""
    attributes = {g.OPERATION: g.OP_INVOKE_AGENT, g.AGENT_NAME: name}
    return record(span_id, parent, f"invoke_agent {name}", start, end, attributes)


def chat_record(
    span_id: int,
    parent: int | None,
    start: float,
    end: float,
    extra: dict[str, Any] | None = None,
    *,
    name: str = "chat gpt-4o-mini",
) -> SpanRecord:
    """A GenAI ``chat`` span of gpt-4o-mini on OpenAI (100 tokens in, 10 out), and ``extra``."""
    attributes = {
        g.OPERATION: "chat",
        g.PROVIDER: "openai",
        g.REQUEST_MODEL: "gpt-4o-mini",
        g.INPUT_TOKENS: 100,
        g.OUTPUT_TOKENS: 10,
        **(extra or {}),
    }
    return record(span_id, parent, name, start, end, attributes)
