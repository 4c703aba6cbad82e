"""A run's labels (session, MASEval task, repetition) are part of its RunTrace and its tables."""

from __future__ import annotations

import json

from support.records import TraceBuilder, assistant, user

from otel_bridge import SpanRecord, derive, to_tables
from otel_bridge.conventions import run_labels


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


def labels_of(**root: object) -> dict[str, object]:
    labels = dict(derive(labelled(**root).spans).labels)
    del labels["framework"]
    return labels


def test_the_genai_conversation_id_is_the_session_when_openinference_names_none() -> None:
    assert labels_of(**{"gen_ai.conversation.id": "conv-1"}) == {
        "session_id": "conv-1",
        "task_id": None,
        "repetition": None,
    }
    assert labels_of(**{"session.id": "s-1", "gen_ai.conversation.id": "conv-1"})["session_id"] == (
        "s-1"
    )


def test_a_repetition_that_is_not_an_integer_is_not_a_label() -> None:
    for repetition in ("2", True, 2.0):
        assert labels_of(**{"maseval.task.repetition": repetition}) == {
            "session_id": None,
            "task_id": None,
            "repetition": None,
        }, repetition


def test_metadata_holding_one_of_the_labels_gives_that_one() -> None:
    assert labels_of(metadata=json.dumps({"task_id": "t-1"})) == {
        "session_id": None,
        "task_id": "t-1",
        "repetition": None,
    }
    assert labels_of(metadata=json.dumps({"repetition": 3, "user": "x"})) == {
        "session_id": None,
        "task_id": None,
        "repetition": 3,
    }
    assert labels_of(metadata='{"task_id": broken') == {
        "session_id": None,
        "task_id": None,
        "repetition": None,
    }


def test_the_root_span_says_first_and_later_spans_fill_in_the_rest() -> None:
    child = SpanRecord(
        0x51, 2, 1, "step", 1, 2, attributes={"session.id": "from-child", "maseval.task.id": "t-2"}
    )
    root = SpanRecord(0x51, 1, None, "run", 0, 3, attributes={"session.id": "from-root"})
    assert run_labels([child, root]) == {
        "session_id": "from-root",
        "task_id": "t-2",
        "repetition": None,
        "framework": None,
    }
    spans = [SpanRecord(0x51, i, 1, "step", 1, 2) for i in range(2, 66)]
    late = SpanRecord(0x51, 66, 1, "step", 1, 2, attributes={"session.id": "s"})
    assert run_labels([*spans, late])["session_id"] is None  # looked for in the first 64 only
    assert run_labels([*spans[:-1], late])["session_id"] == "s"
