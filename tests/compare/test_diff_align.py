"""The alignment and the steps of a diff, on hand-built sequences and RunTrace JSON."""

from __future__ import annotations

from typing import Any

from otel_bridge import diff_runs
from otel_bridge.compare import _align


def aligned(a: str, b: str) -> list[tuple[str | None, str | None]]:
    """Align two strings of steps: a letter is a step's identity, case its content (``a`` and
    ``A`` are the same step, changed)."""
    pairs = _align.align([ord(c.lower()) for c in a], [ord(c) for c in a],
                         [ord(c.lower()) for c in b], [ord(c) for c in b])  # fmt: skip
    return [(None if i is None else a[i], None if j is None else b[j]) for i, j in pairs]


def test_equal_inserted_removed_and_changed_steps() -> None:
    assert aligned("abc", "abc") == [("a", "a"), ("b", "b"), ("c", "c")]
    assert aligned("abc", "abxc") == [("a", "a"), ("b", "b"), (None, "x"), ("c", "c")]
    assert aligned("abxc", "abc") == [("a", "a"), ("b", "b"), ("x", None), ("c", "c")]
    assert aligned("abc", "aBc") == [("a", "a"), ("b", "B"), ("c", "c")]
    # Different steps are never paired: one side's, then the other's.
    assert aligned("axc", "ayc") == [("a", "a"), ("x", None), (None, "y"), ("c", "c")]
    assert aligned("", "ab") == [(None, "a"), (None, "b")]


def test_a_middle_too_large_for_one_table_is_cut_at_equal_stretches(monkeypatch: Any) -> None:
    monkeypatch.setattr(_align, "MAX_CELLS", 30)  # a table of at most 30 cells
    a = "q" + "abcdefgh" + "x" + "ijklmnop" + "r"
    b = "s" + "abcdefgh" + "Y" + "ijklmnop" + "t"
    pairs = aligned(a, b)
    assert pairs[0:2] == [("q", None), (None, "s")]
    assert pairs[10:12] == [("x", None), (None, "Y")]
    assert pairs[-2:] == [("r", None), (None, "t")]
    assert [p for p in pairs if None not in p] == [(c, c) for c in "abcdefghijklmnop"]


def _run(trace_id: str, delegations: list[dict[str, Any]], output: str) -> dict[str, Any]:
    def call(agent: str, second: str) -> dict[str, Any]:
        at = f"2026-01-01T00:00:0{second}"
        return {"span_id": second, "agent": agent, "model": "m", "start": f"{at}Z",
                "end": f"{at}.5Z", "status": "ok", "duration_s": 0.5}  # fmt: skip

    return {
        "trace_id": trace_id,
        "status": "ok",
        "output": output,
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-01T00:00:09Z",
        "llm_calls": [call("manager", "1"), call("searcher", "3"), call("manager", "5")],
        "delegations": delegations,
    }


def test_delegations_are_steps() -> None:
    delegation = {"from": "manager", "to": "searcher", "task": "find the paper",
                  "at": "2026-01-01T00:00:02Z", "tool_call_id": "c1"}  # fmt: skip
    a = _run("a" * 32, [delegation], "found it")
    b = _run("b" * 32, [{**delegation, "task": "find the book"}], "found it")
    diff = diff_runs(a, b).to_dict()
    assert [(s["status"], s["a"]["label"]) for s in diff["steps"]] == [
        ("equal", "manager · turn 1"),
        ("changed", "manager · delegation"),
        ("equal", "searcher · turn 1"),
        ("equal", "manager · turn 2"),
        ("equal", "answer"),
    ]
    assert diff["first_divergence"]["what"] == "task find the paper → find the book"
    assert diff["deltas"]["run"]["delegations"] == {"a": 1, "b": 1, "change": 0}
    none = diff_runs(a, _run("c" * 32, [], "found it")).to_dict()
    assert none["first_divergence"]["status"] == "only_a"
    assert none["deltas"]["run"]["delegations"]["change"] == -1
