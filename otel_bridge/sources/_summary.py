"""RunSummary: one line of a source's run list, and the time bounds that filter it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from .._frozen import direct_init
from ..errors import SourceError
from ..run_trace import RunTrace
from ..spans import iso, iso_ns

__all__ = ["RunStatus", "RunSummary", "time_bound"]

RunStatus = Literal["ok", "error", "open"]
_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@direct_init
@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a source's run list says about one run (one trace).

    ``status`` is ``open`` while the source holds no root span of the trace (the run is still
    going, or its root was never exported). ``agents``, ``total_tokens`` and ``cost_usd`` are
    None when they are not known without deriving the run (``details=False`` on Phoenix, or a
    collector that has not derived the run yet); ``cost_usd`` also when a price is unknown.
    """

    trace_id: str
    start_ns: int
    end_ns: int
    status: RunStatus
    spans: int | None = None
    name: str | None = None
    service: str | None = None
    session_id: str | None = None
    task_id: str | None = None
    agents: tuple[str, ...] | None = None
    total_tokens: int | None = None
    tokens_complete: bool | None = None
    cost_usd: float | None = None

    @property
    def duration_ns(self) -> int:
        """End minus start, never negative."""
        return max(0, self.end_ns - self.start_ns)

    def with_trace(self, trace: RunTrace | dict[str, Any]) -> RunSummary:
        """This summary with the agents, tokens, cost, labels and status of the derived run."""
        data = trace.to_dict() if isinstance(trace, RunTrace) else trace
        usage = data.get("usage") or {}
        labels = data.get("labels") or {}
        cost = data.get("cost") or {}
        return replace(
            self,
            status=self.status if self.status == "open" else data["status"],
            agents=tuple(data.get("agents") or ()),
            total_tokens=usage.get("total_tokens"),
            tokens_complete=usage.get("complete"),
            cost_usd=cost.get("total_usd") if cost.get("complete") else None,
            session_id=self.session_id or labels.get("session_id"),
            task_id=self.task_id or labels.get("task_id"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form (one line of ``otel-bridge traces --json``)."""
        return {
            "trace_id": self.trace_id,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "duration_s": round(self.duration_ns / 1e9, 6),
            "status": self.status,
            "name": self.name,
            "service": self.service,
            "session_id": self.session_id,
            "task_id": self.task_id,
            "spans": self.spans,
            "agents": None if self.agents is None else list(self.agents),
            "total_tokens": self.total_tokens,
            "tokens_complete": self.tokens_complete,
            "cost_usd": self.cost_usd,
        }


def time_bound(value: str | datetime | int | None, name: str = "time") -> int | None:
    """Unix nanoseconds of a time bound: a datetime, Unix ns, ISO-8601, or an age like ``2h``.

    Ages count back from now: ``30s``, ``15m``, ``2h``, ``7d``, ``1w``. SourceError otherwise.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return iso_ns(moment.isoformat())
    if isinstance(value, int):
        return value
    age = _AGO.match(value)
    if age:
        return time.time_ns() - int(float(age.group(1)) * _UNIT_S[age.group(2)] * 1e9)
    try:
        return iso_ns(value.strip())
    except ValueError:
        raise SourceError(
            f"{name} {value!r}: expected ISO-8601 (2026-11-23T17:00:00Z) or an age (30m, 2h, 7d)"
        ) from None
