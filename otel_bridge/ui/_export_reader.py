"""ExportReader: the ``RunReader`` of an otel-bridge export directory (its tables), read-only.

An export holds the runs' RunTrace JSON as tables, not their spans: the run list, each run's
report, diff and compare come from the tables (``compare.export_runs``); a trace's spans are
not there (404 in words). The export is read once, when the reader is made.
"""

from __future__ import annotations

from pathlib import Path

from ..compare import export_runs
from ..errors import OtelBridgeError, SourceError
from ..run_json import RunTraceJSON
from ..sources import RunSummary
from ..spans import SpanRecord, iso_ns
from ._source_reader import SourceReader

__all__ = ["ExportReader"]

NAME_CHARS = 80  # a run's name in the list: the start of its input


class ExportReader(SourceReader):
    """A ``RunReader`` over an export directory (see the module doc)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        try:
            found = export_runs(self.directory)
        except OtelBridgeError as exc:
            raise SourceError(f"{directory}: {exc}") from exc
        except OSError as exc:
            raise SourceError(f"{directory}: cannot read the export: {exc}") from exc
        self._exported: dict[str, RunTraceJSON] = {run["trace_id"]: run for run in found}
        summaries = sorted(
            (_summary(run) for run in found), key=lambda s: (s.start_ns, s.trace_id), reverse=True
        )
        super().__init__(None)
        self._listing = summaries
        self._by_id = {s.trace_id: s for s in summaries}

    def describe(self) -> str:
        """What the reader reads, for people."""
        return f"the export {self.directory}"

    def _summaries(self, fresh: bool = False) -> list[RunSummary]:
        return self._listing or []

    def spans(self, trace_id: str) -> list[SpanRecord] | None:
        """None: an export keeps no spans (the routes say so for a run it holds)."""
        return None

    def without_spans(self, trace_id: str) -> str:
        """For a run the export holds: it keeps the run, not its spans."""
        if trace_id in self._exported:
            return f"{self.describe()} keeps the run of trace {trace_id}, not its spans"
        return super().without_spans(trace_id)

    def run(self, trace_id: str) -> RunTraceJSON | None:
        """The run's RunTrace JSON as the export's tables hold it."""
        return self._exported.get(trace_id)


def _summary(run: RunTraceJSON) -> RunSummary:
    labels = run.get("labels") or {}
    usage = run.get("usage") or {}
    cost = run.get("cost") or {}
    start, end = _ns(run.get("start")), _ns(run.get("end"))
    text = str(run.get("input") or run["trace_id"]).strip().splitlines()
    return RunSummary(
        trace_id=run["trace_id"],
        start_ns=start,
        end_ns=max(start, end),
        status="error" if run.get("status") == "error" else "ok",
        name=(text[0] if text else run["trace_id"])[:NAME_CHARS],
        session_id=labels.get("session_id"),
        task_id=labels.get("task_id"),
        agents=tuple(run.get("agents") or ()),
        total_tokens=usage.get("total_tokens"),
        tokens_complete=usage.get("complete"),
        cost_usd=cost.get("total_usd"),
    )


def _ns(value: object) -> int:
    try:
        return iso_ns(str(value))
    except ValueError:
        return 0
