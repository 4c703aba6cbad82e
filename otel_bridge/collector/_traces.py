"""A trace's summary (one row of the trace list), what its run's derivation adds, page cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import BadParameter
from ..spans import iso

__all__ = [
    "RunFacts",
    "TracePage",
    "TraceStatus",
    "TraceSummary",
    "decode_cursor",
    "encode_cursor",
    "summary_of_row",
]

TraceStatus = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What deriving a run adds to its trace summary (``agents`` None: labels only)."""

    span_count: int  # the spans they were read from
    session_id: str | None = None
    task_id: str | None = None
    agents: tuple[str, ...] | None = None
    total_tokens: int | None = None
    tokens_complete: bool | None = None
    cost_usd: float | None = None

    @classmethod
    def of_run(cls, span_count: int, run: Mapping[str, Any]) -> RunFacts:
        """The facts of a RunTrace JSON object."""
        labels = run.get("labels") or {}
        usage = run.get("usage") or {}
        cost = run.get("cost") or {}
        return cls(
            span_count,
            labels.get("session_id"),
            labels.get("task_id"),
            tuple(run.get("agents") or ()),
            usage.get("total_tokens"),
            usage.get("complete"),
            cost.get("total_usd") if cost.get("complete") else None,
        )


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One row of the trace list, with what its run's derivation added (``run``) if known."""

    trace_id: str
    start_ns: int
    end_ns: int
    span_count: int
    error_count: int
    status: TraceStatus
    service: str | None
    root_name: str | None
    run: RunFacts | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the query API (``run`` null until the run was derived)."""
        run = self.run
        derived = run is not None and run.agents is not None and run.span_count == self.span_count
        return {
            "trace_id": self.trace_id,
            "service": self.service,
            "root_name": self.root_name,
            "status": self.status,
            "span_count": self.span_count,
            "error_count": self.error_count,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "duration_s": round(max(0, self.end_ns - self.start_ns) / 1e9, 6),
            "session_id": run.session_id if run else None,
            "task_id": run.task_id if run else None,
            "run": {
                "agents": list(run.agents or ()),
                "total_tokens": run.total_tokens,
                "tokens_complete": run.tokens_complete,
                "cost_usd": run.cost_usd,
            }
            if run is not None and derived
            else None,
        }


@dataclass(frozen=True, slots=True)
class TracePage:
    """A page of traces, newest first, and the cursor of the next page (None on the last)."""

    traces: list[TraceSummary]
    next_cursor: str | None


def summary_of_row(row: tuple[Any, ...]) -> TraceSummary:
    """A summary from a row of ``SUMMARY_COLUMNS``."""
    facts = None
    if row[8] is not None:
        agents = None if row[11] is None else tuple(json.loads(row[11]))
        complete = None if row[13] is None else bool(row[13])
        facts = RunFacts(row[8], row[9], row[10], agents, row[12], complete, row[14])
    trace_id, start, end, spans, errors, status, service, root = row[:8]
    return TraceSummary(trace_id.hex(), start, end, spans, errors, status, service, root, facts)


def encode_cursor(start_ns: int, trace_id: str) -> str:
    """An opaque page cursor: the sort key of the last trace of a page."""
    return base64.urlsafe_b64encode(f"{start_ns}:{trace_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, bytes]:
    """The sort key in a cursor; BadParameter when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, trace_id = text.split(":")
        tid = bytes.fromhex(trace_id)
        if len(tid) != 16:
            raise BadParameter("bad trace id")
        start_ns = int(start)
        if not -(2**63) <= start_ns < 2**63:
            raise BadParameter("start out of range")
        return start_ns, tid
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter(f"invalid cursor {cursor!r}") from exc
