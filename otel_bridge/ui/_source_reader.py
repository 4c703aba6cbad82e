"""SourceReader: the ``RunReader`` of any span source (a file, an export directory, Phoenix,
Jaeger, another collector), read-only.

The source's run list is read once and again when older than ``REFRESH_S`` (a file's once),
at most ``MAX_RUNS`` runs, newest first; the ``/api/traces`` filters and cursor apply to it
here. A run is derived when it is first asked for (its report, a diff, a listed page of at
most ``DERIVE_PAGE`` runs, an ``agent`` filter) and kept (``RUN_CACHE`` runs; their facts for
every run). Faults of the source (gone, failing) raise ``SourceError``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..collector import decode_cursor, encode_cursor, list_params
from ..derivation import derive
from ..errors import SourceError
from ..run_json import RunTraceJSON
from ..sources import RunQuery, RunSummary, SpanSource
from ..spans import SpanRecord, iso
from ._reader import run_facts

__all__ = ["SourceReader", "summary_json"]

REFRESH_S = 5.0
MAX_RUNS = 10_000
DERIVE_PAGE = 100  # a listed page up to this size gets every run's facts (derived if needed)
RUN_CACHE = 256


def summary_json(summary: RunSummary, facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """A source's run summary in the ``/api/traces`` form (``error_count`` null: unknown)."""
    return {
        "trace_id": summary.trace_id,
        "service": summary.service,
        "root_name": summary.name,
        "status": "error" if summary.status == "error" else "ok",
        "span_count": summary.spans,
        "error_count": None,
        "start": iso(summary.start_ns),
        "end": iso(summary.end_ns),
        "start_ns": summary.start_ns,
        "end_ns": summary.end_ns,
        "duration_s": round(summary.duration_ns / 1e9, 6),
        "session_id": summary.session_id,
        "task_id": summary.task_id,
        "run": None if facts is None else dict(facts),
        "open": summary.status == "open",
    }


class SourceReader:
    """A ``RunReader`` over a ``SpanSource`` (see the module doc)."""

    def __init__(self, source: SpanSource | None, refresh_s: float | None = None) -> None:
        self.source = source  # None: a subclass that reads no spans (an export's tables)
        remote = source is not None and source.remote
        self.refresh_s = refresh_s if refresh_s is not None else (REFRESH_S if remote else None)
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()  # one read of the source at a time
        self._listing: list[RunSummary] | None = None
        self._by_id: dict[str, RunSummary] = {}
        self._listed_at = 0.0
        self._runs: OrderedDict[str, RunTraceJSON] = OrderedDict()
        self._facts: dict[str, dict[str, Any]] = {}

    # ---- the run list ----------------------------------------------------------------------

    def _summaries(self, fresh: bool = False) -> list[RunSummary]:
        with self._lock:
            listing = self._listing
            stale = (
                self.refresh_s is not None and time.monotonic() - self._listed_at > self.refresh_s
            )
        if listing is not None and not stale and not fresh:
            return listing
        if self.source is None:
            return []
        with self._read_lock:
            listed = self.source.list_runs(RunQuery(limit=MAX_RUNS))
            found = [item.summary for item in itertools.islice(listed, MAX_RUNS)]
        found.sort(key=lambda s: (s.start_ns, s.trace_id), reverse=True)
        with self._lock:
            self._listing, self._listed_at = found, time.monotonic()
            self._by_id = {s.trace_id: s for s in found}
        return found

    def describe(self) -> str:
        """What the reader reads, for people."""
        return "nothing" if self.source is None else self.source.describe()

    def check(self) -> int:
        """Read the run list now (SourceError when the source cannot be read); how many runs."""
        return len(self._summaries(fresh=True))

    def traces(self, query: Mapping[str, str]) -> dict[str, Any]:
        """See ``RunReader.traces``."""
        params = list_params(query)
        after = decode_cursor(params["cursor"]) if params["cursor"] else None
        kept = []
        for summary in self._summaries():
            if after is not None and (summary.start_ns, bytes.fromhex(summary.trace_id)) >= after:
                continue
            if self._matches(summary, params):
                kept.append(summary)
                if len(kept) > params["limit"]:
                    break
        page, more = kept[: params["limit"]], len(kept) > params["limit"]
        derive_all = len(page) <= DERIVE_PAGE
        traces = [summary_json(s, self._facts_of(s, derive=derive_all)) for s in page]
        last = page[-1] if more else None
        return {
            "traces": traces,
            "next_cursor": encode_cursor(last.start_ns, last.trace_id) if last else None,
        }

    def _matches(self, summary: RunSummary, params: Mapping[str, Any]) -> bool:
        status = "error" if summary.status == "error" else "ok"
        for wanted, value in (
            (params["service"], summary.service),
            (params["status"], status),
            (params["session"], summary.session_id),
            (params["task"], summary.task_id),
        ):
            if wanted is not None and wanted != value:
                return False
        if params["open"] and summary.status != "open":
            return False
        if params["start_ns"] is not None and summary.start_ns < params["start_ns"]:
            return False
        if params["end_ns"] is not None and summary.start_ns >= params["end_ns"]:
            return False
        if params["agent"] is not None:
            facts = self._facts_of(summary, derive=True)
            if facts is None or params["agent"] not in facts["agents"]:
                return False
        if params["text"] is not None:
            facts = self._facts_of(summary, derive=False)
            agents = facts["agents"] if facts else []
            fields = (summary.trace_id, summary.name, summary.service, summary.session_id,
                      summary.task_id, *agents)  # fmt: skip
            text = params["text"].lower()
            return any(text in str(f).lower() for f in fields if f is not None)
        return True

    def _facts_of(self, summary: RunSummary, *, derive: bool) -> dict[str, Any] | None:
        """A run's facts: known, or derived now (``derive``) unless it is open."""
        with self._lock:
            facts = self._facts.get(summary.trace_id)
        if facts is None and summary.agents is not None:  # the listing said (Phoenix)
            facts = {
                "agents": list(summary.agents),
                "total_tokens": summary.total_tokens,
                "tokens_complete": summary.tokens_complete,
                "cost_usd": summary.cost_usd,
            }
        if facts is not None or not derive or summary.status == "open":
            return facts
        try:
            run = self.run(summary.trace_id)
        except SourceError:
            raise
        except Exception:  # spans derive() cannot take: the run stays without facts
            return None
        return None if run is None else run_facts(run)

    # ---- one trace -------------------------------------------------------------------------

    def _known(self, trace_id: str) -> RunSummary | None:
        self._summaries()
        with self._lock:
            found = self._by_id.get(trace_id)
        if found is None and self.refresh_s is not None:  # new since the last listing?
            self._summaries(fresh=True)
            with self._lock:
                found = self._by_id.get(trace_id)
        return found

    def summary(self, trace_id: str) -> dict[str, Any] | None:
        """See ``RunReader.summary``."""
        found = self._known(trace_id)
        if found is None:
            return None
        return summary_json(found, self._facts_of(found, derive=True))

    def spans(self, trace_id: str) -> list[SpanRecord] | None:
        """A trace's spans, or None when the source has no such trace."""
        if self._known(trace_id) is None or self.source is None:
            return None
        with self._read_lock:
            return self.source.read_trace(trace_id)

    def without_spans(self, trace_id: str) -> str:
        """Why there are no spans to give for ``trace_id``, in words."""
        return f"no spans of trace {trace_id}"

    def run(self, trace_id: str) -> RunTraceJSON | None:
        """See ``RunReader.run``."""
        with self._lock:
            cached = self._runs.get(trace_id)
            if cached is not None:
                self._runs.move_to_end(trace_id)
                return cached
        spans = self.spans(trace_id)
        if spans is None:
            return None
        run = derive(spans).to_dict()
        with self._lock:
            self._runs[trace_id] = run
            while len(self._runs) > RUN_CACHE:
                self._runs.popitem(last=False)
            self._facts[trace_id] = run_facts(run)
        return run
