"""Export plans applied to the SDK's finished spans: edited copies and new spans.

The originals (which the in-memory capture also holds) are never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from ..spans import SpanRecord
from ._export_view import ExportPlan, SpanEdit

__all__ = ["SCOPE", "copy_span", "enrich_span", "new_span"]

SCOPE = InstrumentationScope("otel_bridge")
_STATUS = {"UNSET": StatusCode.UNSET, "OK": StatusCode.OK, "ERROR": StatusCode.ERROR}


def copy_span(span: ReadableSpan, plan: ExportPlan) -> ReadableSpan:
    """The span as the plan exports it (the span itself when nothing changes)."""
    ctx = span.get_span_context()
    edit = plan.edits.get(ctx.span_id) if ctx is not None else None
    if edit is None and not plan.drop_openinference:
        return span
    attributes = plan.attributes(dict(span.attributes or {}), ctx.span_id if ctx else 0)
    return _copy(span, attributes, edit or SpanEdit())


def enrich_span(span: ReadableSpan, extra: Mapping[str, Any]) -> ReadableSpan:
    """A copy of a finished span with ``extra`` merged into its attributes (original untouched)."""
    if not extra:
        return span
    return _copy(span, {**(span.attributes or {}), **extra}, SpanEdit())


def _copy(span: ReadableSpan, attributes: Mapping[str, Any], edit: SpanEdit) -> ReadableSpan:
    bounded = BoundedAttributes(attributes=dict(attributes))
    bounded.dropped = span.dropped_attributes  # what the SDK's limits dropped stays counted
    parent = span.parent
    if edit.parent_id is not None and span.context is not None:
        parent = SpanContext(span.context.trace_id, edit.parent_id, False, span.context.trace_flags)
    status = span.status
    if edit.status is not None:
        status = _status(edit.status, edit.status_message)
    # Dropped event/link counts live on the SDK's private bounded lists; keep those too.
    return ReadableSpan(
        name=edit.name or span.name,
        context=span.get_span_context(),
        parent=parent,
        resource=span.resource,
        attributes=bounded,
        events=getattr(span, "_events", span.events),
        links=getattr(span, "_links", span.links),
        kind=SpanKind[edit.kind] if edit.kind else span.kind,
        status=status,
        start_time=span.start_time,
        end_time=edit.end_ns if edit.end_ns is not None else span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def new_span(record: SpanRecord, template: ReadableSpan) -> ReadableSpan:
    """A span of ours (``record``), in the trace, resource and sampling of ``template``."""
    flags = template.context.trace_flags if template.context is not None else None
    context = SpanContext(record.trace_id, record.span_id, False, flags)
    parent = (
        None
        if record.parent_id is None
        else SpanContext(record.trace_id, record.parent_id, False, flags)
    )
    return ReadableSpan(
        name=record.name,
        context=context,
        parent=parent,
        resource=template.resource,
        attributes=BoundedAttributes(attributes=dict(record.attributes)),
        kind=SpanKind[record.kind],
        status=_status(record.status, record.status_message),
        start_time=record.start_ns,
        end_time=record.end_ns,
        instrumentation_scope=SCOPE,
    )


def _status(name: str, message: str) -> Status:
    code = _STATUS[name]
    # The SDK accepts a description only with ERROR (and warns otherwise).
    return Status(code, message or None) if code is StatusCode.ERROR else Status(code)
