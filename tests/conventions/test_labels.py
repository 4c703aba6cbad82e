"""A run's labels (session, MASEval task, repetition) are part of its RunTrace and its tables."""

from __future__ import annotations

import json

from support.records import TraceBuilder, assistant, user

from otel_bridge import derive, to_tables


def labelled(**root: object) -> TraceBuilder:
    b = TraceBuilder(trace_id=0x51)
    run = b.span("team.run", 0, 100, attrs={"openinference.span.kind": "CHAIN", **root})
    b.llm(b.step(run, "solo", 1, 9), 2, 8, [user("q")], [assistant("a")], usage=(7, 3))
    return b


def test_labels_from_the_root_span_reach_the_runtrace_and_every_table() -> None:
    b = labelled(
        **{
            "session.id": "s-1",
            "maseval.task.id": "task-7",
            "maseval.task.repetition": 2,
        }
    )
    run = derive(b.spans)
    expected = {
        "session_id": "s-1",
        "task_id": "task-7",
        "repetition": 2,
        "framework": "llama_index",
    }
    assert run.labels == expected
    assert run.to_dict()["labels"] == expected
    tables = to_tables([run])
    for name in ("runs", "agents", "llm_calls", "messages"):
        row = tables[name][0]
        assert (row["session_id"], row["task_id"], row["repetition"]) == ("s-1", "task-7", 2)


def test_labels_from_openinference_metadata_and_none_when_unsaid() -> None:
    metadata = json.dumps({"task_id": "t", "repetition": 0})
    assert derive(labelled(metadata=metadata).spans).labels == {
        "session_id": None,
        "task_id": "t",
        "repetition": 0,
        "framework": "llama_index",
    }
    assert derive(labelled().spans).labels == {
        "session_id": None,
        "task_id": None,
        "repetition": None,
        "framework": "llama_index",
    }
