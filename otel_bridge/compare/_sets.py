"""Two sets of runs side by side: runs matched by MASEval task and repetition, paired changes.

A run is a row of the runs table (``tables.COLUMNS["runs"]``): read from an export directory,
or made from a derived run with ``tables.to_tables``. Runs pair up by task id and repetition
(the n-th run of a task repetition in A with the n-th in B, in start order); the others are
listed as unmatched. Overall figures are medians and means of the paired differences (B minus
A) with 95% bootstrap intervals, from a fixed seed: the same sets always give the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from ..errors import ConfigError

__all__ = ["COLUMNS_READ", "METRICS", "SetComparison", "compare_sets"]

# What is compared per task, and which way is better (None: neither way).
METRICS: dict[str, bool | None] = {
    "score": True,
    "total_tokens": False,
    "input_tokens": False,
    "output_tokens": False,
    "cost_usd": False,
    "llm_calls": False,
    "tool_calls": False,
    "handoffs": None,
    "wall_s": False,
    "errors": False,
}
# The runs-table columns a comparison reads.
COLUMNS_READ = (
    "trace_id",
    "session_id",
    "task_id",
    "repetition",
    "start",
    "status",
    *METRICS,
    "tokens_complete",
    "cost_complete",
    "passed",
    "task_status",
)
RESAMPLES = 1000
SEED = 0
_CHUNK = 50  # resamples drawn at once: bounded memory for large sets

Key = tuple[str, int | None, int]


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _figures(row: Mapping[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "trace_id": row.get("trace_id"),
        "status": row.get("status"),
        "passed": row.get("passed"),
        "task_status": row.get("task_status"),
    }
    for metric in METRICS:
        value = _number(row.get(metric))
        if metric.endswith("_tokens") and row.get("tokens_complete") is False:
            value = None  # a lower bound is not a count to subtract
        if metric == "cost_usd" and row.get("cost_complete") is not True:
            value = None
        figures[metric] = value
    return figures


def _keyed(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[dict[Key, Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Runs by (task, repetition, n-th); runs without a task id apart."""
    keyed: dict[Key, Mapping[str, Any]] = {}
    seen: dict[tuple[str, int | None], int] = {}
    unlabelled = []
    for row in sorted(rows, key=lambda r: str(r.get("start") or "")):
        task = row.get("task_id")
        if task is None:
            unlabelled.append(row)
            continue
        repetition = row.get("repetition")
        repetition = repetition if isinstance(repetition, int) else None
        n = seen.get((str(task), repetition), 0)
        seen[(str(task), repetition)] = n + 1
        keyed[(str(task), repetition, n)] = row
    return keyed, unlabelled


def _verdict(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """better / worse / same by the score (else pass or fail); unscored when neither says."""
    if a["score"] is not None and b["score"] is not None:
        return (
            "better" if b["score"] > a["score"] else "worse" if b["score"] < a["score"] else "same"
        )
    if isinstance(a["passed"], bool) and isinstance(b["passed"], bool):
        return "same" if a["passed"] == b["passed"] else "better" if b["passed"] else "worse"
    return "unscored"


def _bootstrap(columns: list[np.ndarray], rng: np.random.Generator) -> list[dict[str, list[float]]]:
    """95% percentile bootstrap intervals of the mean and the median of each column (all of
    one length n), from the same ``RESAMPLES`` resamples of the n pairs.

    Each resample is counted per distinct value (``bincount``), so a mean is a dot product and
    a median a cumulative count: no sorting of the resamples.
    """
    import numpy as np

    n = len(columns[0])
    tables = [
        (values, ranks.astype(np.intp))
        for values, ranks in (np.unique(c, return_inverse=True) for c in columns)
    ]
    means: list[list[np.ndarray]] = [[] for _ in columns]
    medians: list[list[np.ndarray]] = [[] for _ in columns]
    low_rank, high_rank = (n - 1) // 2, n // 2
    for start in range(0, RESAMPLES, _CHUNK):
        size = min(_CHUNK, RESAMPLES - start)
        picks = rng.integers(0, n, size=(size, n), dtype=np.intp)
        for k, (values, ranks) in enumerate(tables):
            width = len(values)
            offsets = (np.arange(size, dtype=np.intp) * width)[:, None]
            slots = ranks[picks]
            slots += offsets
            counts = np.bincount(slots.ravel(), minlength=size * width)
            counts = counts.reshape(size, width)
            means[k].append(counts.astype(np.float64) @ values / n)  # a float product: BLAS
            cumulative = counts.cumsum(axis=1)
            low = (cumulative > low_rank).argmax(axis=1)
            high = (cumulative > high_rank).argmax(axis=1)
            medians[k].append((values[low] + values[high]) / 2)

    def interval(found: list[np.ndarray]) -> list[float]:
        low, high = np.percentile(np.concatenate(found), [2.5, 97.5])
        return [round(float(low), 9), round(float(high), 9)]

    return [
        {"mean": interval(means[k]), "median": interval(medians[k])} for k in range(len(columns))
    ]


@dataclass(frozen=True)
class SetComparison:
    """Two sets of runs matched by task: the pairs, the unmatched runs, the overall changes."""

    pairs: list[tuple[Key, dict[str, Any], dict[str, Any]]]
    only_a: list[dict[str, Any]]
    only_b: list[dict[str, Any]]
    unlabelled_a: int
    unlabelled_b: int

    @cached_property
    def _tasks(self) -> list[dict[str, Any]]:
        return self._make_tasks()

    def tasks(self) -> list[dict[str, Any]]:
        """Per matched task repetition: both sides' figures, the change, the verdict."""
        return self._tasks

    def _make_tasks(self) -> list[dict[str, Any]]:
        rows = []
        for (task, repetition, n), a, b in self.pairs:
            change: dict[str, Any] = {}
            for metric in METRICS:
                va, vb = a[metric], b[metric]
                change[metric] = None if va is None or vb is None else round(vb - va, 9)
            change["status"] = (
                None if a["status"] == b["status"] else f"{a['status']} → {b['status']}"
            )
            rows.append(
                {
                    "task_id": task,
                    "repetition": repetition,
                    "run": n,
                    "a": a,
                    "b": b,
                    "change": change,
                    "verdict": _verdict(a, b),
                }
            )
        return rows

    @cached_property
    def _overall(self) -> dict[str, Any]:
        return self._make_overall()

    def overall(self) -> dict[str, Any]:
        """Per metric: means, the paired differences' mean and median with 95% bootstrap
        intervals, and how many pairs went down, up or stayed; the verdicts counted."""
        return self._overall

    def _make_overall(self) -> dict[str, Any]:
        import numpy as np  # here: importing otel_bridge does not load numpy

        rng = np.random.default_rng(SEED)
        found: dict[str, Any] = {}
        # Metrics known for the same pairs share their resamples (one bootstrap per subset).
        subsets: dict[tuple[bool, ...], list[str]] = {}
        values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for metric in METRICS:
            known = tuple(a[metric] is not None and b[metric] is not None for _, a, b in self.pairs)
            if not any(known):
                found[metric] = {"n": 0}
                continue
            subsets.setdefault(known, []).append(metric)
            pairs = [(a, b) for (_, a, b), k in zip(self.pairs, known, strict=True) if k]
            values[metric] = (
                np.array([a[metric] for a, _ in pairs], dtype=float),
                np.array([b[metric] for _, b in pairs], dtype=float),
            )
        for names in subsets.values():
            changes = [values[m][1] - values[m][0] for m in names]
            for metric, d, ci in zip(names, changes, _bootstrap(changes, rng), strict=True):
                va, vb = values[metric]
                found[metric] = {
                    "n": len(d),
                    "a_mean": round(float(va.mean()), 9),
                    "b_mean": round(float(vb.mean()), 9),
                    "mean_change": round(float(d.mean()), 9),
                    "mean_change_ci": ci["mean"],
                    "median_change": round(float(np.median(d)), 9),
                    "median_change_ci": ci["median"],
                    "down": int((d < 0).sum()),
                    "up": int((d > 0).sum()),
                    "same": int((d == 0).sum()),
                }
        metrics = {m: found[m] for m in METRICS}  # in the documented order
        verdicts = {"better": 0, "worse": 0, "same": 0, "unscored": 0}
        for task in self.tasks():
            verdicts[task["verdict"]] += 1
        status = {"a_ok": 0, "b_ok": 0}
        for _, a, b in self.pairs:
            status["a_ok"] += a["status"] == "ok"
            status["b_ok"] += b["status"] == "ok"
        return {"metrics": metrics, "verdicts": verdicts, "status": status}

    def to_dict(self) -> dict[str, Any]:
        """JSON form: tasks, overall, unmatched runs."""
        return {
            "matched": len(self.pairs),
            "tasks": self.tasks(),
            "overall": self.overall(),
            "unmatched": {
                "only_a": self.only_a,
                "only_b": self.only_b,
                "no_task_id_a": self.unlabelled_a,
                "no_task_id_b": self.unlabelled_b,
            },
            "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "level": 0.95},
        }


def compare_sets(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> SetComparison:
    """Match two sets of runs (runs-table rows) by task and repetition and compare them.

    ConfigError when no task repetition is in both.
    """
    keyed_a, unlabelled_a = _keyed(a)
    keyed_b, unlabelled_b = _keyed(b)
    common = [k for k in keyed_a if k in keyed_b]
    if not common:
        raise ConfigError(
            f"the two sets have no task in common (A: {len(a)} run(s), {len(keyed_a)} with a "
            f"task id; B: {len(b)} run(s), {len(keyed_b)} with a task id)"
        )

    def unmatched(
        keyed: Mapping[Key, Mapping[str, Any]], other: Mapping[Key, Any]
    ) -> list[dict[str, Any]]:
        return [
            {"task_id": k[0], "repetition": k[1], "run": k[2], "trace_id": r.get("trace_id")}
            for k, r in keyed.items()
            if k not in other
        ]

    pairs = [(k, _figures(keyed_a[k]), _figures(keyed_b[k])) for k in sorted(common, key=_order)]
    return SetComparison(
        pairs,
        unmatched(keyed_a, keyed_b),
        unmatched(keyed_b, keyed_a),
        len(unlabelled_a),
        len(unlabelled_b),
    )


def _order(key: Key) -> tuple[str, int, int]:
    return key[0], -1 if key[1] is None else key[1], key[2]
