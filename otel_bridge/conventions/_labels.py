"""A run's labels: who ran it in which session, for which MASEval task and repetition.

Read from the root span (else from the first span that has them), because that is where the
MASEval adapter writes them: ``session.id`` (OpenInference; GenAI's ``gen_ai.conversation.id``
as the fall back), the flat ``maseval.task.id`` / ``maseval.task.repetition``, or the same as
``task_id`` / ``repetition`` keys of the OpenInference ``metadata`` JSON (what Phoenix keeps).
Every RunTrace carries them (``labels``); sources use the session id to filter runs where the
backend cannot; exports write all three as columns. The fourth label, the agent framework, is
derivation's to fill (``frameworks``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from openinference.semconv.trace import SpanAttributes

from ..run_trace import RunLabels
from ..spans import SpanRecord
from .genai_attributes import CONVERSATION_ID

__all__ = ["LABEL_KEYS", "RunLabels", "empty_labels", "run_labels"]

TASK_ID = "maseval.task.id"
REPETITION = "maseval.task.repetition"
LABEL_KEYS = ("session_id", "task_id", "repetition")
_LABEL_ATTRIBUTES = frozenset(
    {SpanAttributes.SESSION_ID, CONVERSATION_ID, SpanAttributes.METADATA, TASK_ID, REPETITION}
)


def run_labels(spans: Sequence[SpanRecord]) -> RunLabels:
    """The labels of the run these spans belong to (one trace)."""
    labels = empty_labels()
    roots = [s for s in spans if s.parent_id is None]
    # The root first; children carry the session too (OpenInference copies it to every span).
    for span in (*roots, *spans[:64]):
        attributes = span.attributes
        if attributes.keys() & _LABEL_ATTRIBUTES:  # most spans carry none: one check in C
            _fill(labels, attributes)
            if None not in (labels["session_id"], labels["task_id"], labels["repetition"]):
                break
    return labels


def empty_labels() -> RunLabels:
    """Labels of a run whose spans say none."""
    return {"session_id": None, "task_id": None, "repetition": None, "framework": None}


def _fill(labels: RunLabels, attributes: Mapping[str, Any]) -> None:
    if labels["session_id"] is None:
        session = attributes.get(SpanAttributes.SESSION_ID) or attributes.get(CONVERSATION_ID)
        labels["session_id"] = str(session) if session else None
    metadata = _metadata(attributes.get(SpanAttributes.METADATA))
    if labels["task_id"] is None:
        task = attributes.get(TASK_ID, metadata.get("task_id"))
        labels["task_id"] = None if task is None else str(task)
    if labels["repetition"] is None:
        repetition = attributes.get(REPETITION, metadata.get("repetition"))
        if isinstance(repetition, int) and not isinstance(repetition, bool):
            labels["repetition"] = repetition


def _metadata(value: Any) -> dict[str, Any]:
    """The ``metadata`` JSON object; empty when absent or not an object."""
    if not isinstance(value, str) or not value.startswith("{"):
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
