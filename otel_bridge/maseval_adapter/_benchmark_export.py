"""A whole MASEval Benchmark run as tables and an HTML report: ``BenchmarkExport``.

A ``BenchmarkCallback``: after each task repetition it takes the RunTraces the
``LlamaIndexAgentAdapter``s put in the report (``traces["agents"][name]["runs"]``), labels them
with the task id and repetition when the adapter was not given ``maseval_labels``, adds MASEval's
evaluation of the repetition (``evaluation_of``: its status, the evaluators' results, whether
they passed, a score; the runs table's last columns), and adds them to the tables (written as
rows arrive, in batches: bounded memory). When the benchmark ends the tables appear in their
directory at once (nothing half-written if it fails) and, when asked, an HTML report of every
run with an index. MASEval calls callbacks one at a time, from any
worker thread; ``gather_traces()`` stays as it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from maseval.core.callback import BenchmarkCallback

from ..report import write_report_dir
from ..tables import ExportFormat, TableWriter, WriteMode

__all__ = ["BenchmarkExport", "evaluation_of", "runs_of"]

logger = logging.getLogger(__name__)


class BenchmarkExport(BenchmarkCallback):
    """Writes a Benchmark's runs as the six tables (and an HTML report), off by default.

    ``BenchmarkExport("results/tables", report_dir="results/report")``, given to
    ``Benchmark(callbacks=[...])``. ``format`` is ``parquet`` (needs pyarrow), ``csv`` or
    ``jsonl``; ``mode`` is ``new`` (the directory must not hold an export), ``append`` (a part
    of its own beside earlier ones: several benchmarks or machines into one directory) or
    ``overwrite``. ``report_dir`` (a new or empty directory) gets a page per run and an index;
    it keeps the runs' JSON in memory until the end. Problems are logged, never raised into
    the benchmark: ``errors`` counts them.
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        format: ExportFormat = "parquet",
        mode: WriteMode = "new",
        report_dir: str | Path | None = None,
        title: str = "MASEval benchmark runs",
    ) -> None:
        super().__init__()
        self.directory = None if directory is None else Path(directory)
        self.format: ExportFormat = format
        self.mode: WriteMode = mode
        self.report_dir = None if report_dir is None else Path(report_dir)
        self.title = title
        self.runs = 0
        self.errors = 0
        self._writer: TableWriter | None = None
        self._for_report: list[dict[str, Any]] = []

    def on_run_start(self, benchmark: Any) -> None:
        """Open the tables' writer (nothing is visible until the benchmark ends)."""
        self.runs, self._for_report = 0, []
        directory = self.directory
        if directory is not None:
            self._writer = self._guarded(
                "cannot write the tables", TableWriter, directory, self.format, self.mode
            )

    def on_task_repeat_end(self, benchmark: Any, report: Mapping[str, Any]) -> None:
        """Add the runs of this task repetition."""
        for run in runs_of(report):
            self.runs += 1
            if self._writer is not None:
                self._guarded("cannot add a run to the tables", self._writer.add, run)
            if self.report_dir is not None:
                self._for_report.append(run)

    def on_run_end(self, benchmark: Any, results: Any) -> None:
        """Move the tables into place and write the report."""
        writer, self._writer = self._writer, None
        if writer is not None:
            self._guarded("cannot finish the tables", writer.close)
        if self.report_dir is not None:
            runs, self._for_report = self._for_report, []
            self._guarded(
                "cannot write the report", write_report_dir, runs, self.report_dir, title=self.title
            )

    def _guarded(self, what: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except Exception:
            self.errors += 1
            logger.exception("otel-bridge: %s; the benchmark goes on", what)
            return None


def runs_of(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The RunTrace JSON of every otel-bridge adapter run in a MASEval task report, labelled."""
    traces = report.get("traces")
    agents = traces.get("agents") if isinstance(traces, Mapping) else None
    found: list[dict[str, Any]] = []
    for agent in (agents or {}).values():
        runs = agent.get("runs") if isinstance(agent, Mapping) else None
        for run in runs if isinstance(runs, list) else ():
            if isinstance(run, Mapping):
                found.append(_labelled(run, report))
    return found


def _labelled(run: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    labels = dict(run.get("labels") or {})
    if labels.get("task_id") is None and report.get("task_id") is not None:
        labels["task_id"] = str(report["task_id"])
    if labels.get("repetition") is None and isinstance(report.get("repeat_idx"), int):
        labels["repetition"] = report["repeat_idx"]
    return {**run, "labels": labels, "evaluation": evaluation_of(report)}


def evaluation_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """MASEval's evaluation of a task repetition, from its report.

    ``status``: the report's status (``success``, ``evaluation_failed``, ...). ``evaluators``:
    ``report["eval"]`` as MASEval gives it, one dict of results per evaluator (None when
    evaluation did not run). Per evaluator, "passed" is its ``passed`` result when it gives
    one, else whether all its true/false results are true; its score is its numeric ``score``
    result, else the share of its true/false results that are true. ``passed``: every
    evaluator passed; ``score``: the mean of their scores (None when no evaluator says).
    """
    results = report.get("eval")
    evaluators = (
        [dict(r) if isinstance(r, Mapping) else r for r in results]
        if isinstance(results, Sequence) and not isinstance(results, str)
        else None
    )
    verdicts = [_verdict(r) for r in evaluators or () if isinstance(r, Mapping)]
    passes = [p for p, _ in verdicts if p is not None]
    scores = [s for _, s in verdicts if s is not None]
    return {
        "status": None if report.get("status") is None else str(report.get("status")),
        "passed": all(passes) if passes else None,
        "score": sum(scores) / len(scores) if scores else None,
        # JSON-native, whatever an evaluator returned (a value it cannot write becomes text).
        "evaluators": None
        if evaluators is None
        else json.loads(json.dumps(evaluators, default=str)),
    }


def _verdict(result: Mapping[str, Any]) -> tuple[bool | None, float | None]:
    checks = [v for v in result.values() if isinstance(v, bool)]
    passed = result.get("passed")
    if not isinstance(passed, bool):
        passed = all(checks) if checks else None
    score = result.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        score = sum(checks) / len(checks) if checks else None
    return passed, None if score is None else float(score)
