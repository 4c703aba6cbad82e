"""Words and numbers shared by the terminal summary and the HTML pages, from RunTrace JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..run_json import RunTraceJSON

__all__ = [
    "ISSUE_TEXT",
    "PassKind",
    "clip",
    "cost_text",
    "count",
    "explain_issues",
    "mapping",
    "pass_mark",
    "plural",
    "seconds",
    "tokens_text",
]


PassKind = Literal["handoff", "delegation"]  # how work passed from one agent to another


def pass_mark(kind: PassKind, number: int) -> str:
    """How a page marks the run's handoff or delegation ``number``: ``2``, or ``D2``."""
    return f"D{number}" if kind == "delegation" else str(number)


def plural(number: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``2 runs`` (``many`` when the plural is not ``word + "s"``)."""
    return f"{number:,} {word if number == 1 else many or word + 's'}"


# What each data-quality flag of ``RunTrace.issues`` means for someone reading the numbers.
ISSUE_TEXT: Mapping[str, str] = {
    "tokens_missing": (
        "{missing} reported no token counts (a streaming call that did not ask for "
        "usage, or a failed call): token totals count only the calls that reported."
    ),
    "orphan_spans": (
        "Some spans name a parent span that is not in the trace (lost, or not exported yet); "
        "they were read as roots of their own."
    ),
    "multiple_roots": (
        "The trace has more than one root span: it may hold more than one run, or its top "
        "span is missing."
    ),
    "no_root_span": (
        "The run's root span is missing (not exported yet, or lost): the run may be "
        "incomplete, and its status and duration are taken from the spans that are there."
    ),
    "evicted_spans": (
        "The in-memory capture was full and dropped spans of this run: its figures are incomplete."
    ),
    "duplicate_spans": "Some spans arrived more than once; each was counted once.",
    "unknown_agent": (
        "Some LLM calls could not be attributed to an agent; they are shown under '(no agent)'."
    ),
    "handoff_rejected": (
        "An agent asked for a handoff that did not take place (the next turn was not the "
        "target's); it is not counted as a handoff."
    ),
    "unknown_framework": (
        "The spans come from no agent framework otel-bridge knows: LLM calls, tokens, tools and "
        "messages are read, but not which agent made them, nor handoffs or delegations."
    ),
    "no_llm_calls": (
        "No LLM call was found: the trace may not come from an instrumented LLM agent, or its "
        "LLM spans are missing."
    ),
    "export_failed": (
        "Some spans of this run failed to export to the OTLP endpoint: a backend may show "
        "less than this report."
    ),
    "export_pending": (
        "This run's spans were still being exported when its data was read: a backend may not "
        "show it yet."
    ),
    "price_unknown": (
        "Some LLM calls reported tokens but no price is known for their model: cost totals "
        "count only the priced calls (give your prices with --prices or prices=...)."
    ),
    "no_message_content": (
        "The spans hold no message content (content capture was off): messages, the run's "
        "input and answer, tool arguments and results, and handoff reasons are left empty."
    ),
    "coerced_values": (
        "Some attribute values had an unexpected type and were converted (e.g. a token count "
        "sent as text); the DEBUG log of the otel_bridge.derivation logger names each."
    ),
    "rejected_values": (
        "Some attribute values could not be read (e.g. a negative or non-numeric token count, "
        "malformed or too deeply nested message JSON) and were treated as missing; the DEBUG "
        "log of the otel_bridge.derivation logger names each."
    ),
}


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (partial JSON still renders)."""
    return value if isinstance(value, Mapping) else {}


def count(value: Any) -> int:
    """An integer count from JSON (missing or malformed reads as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def seconds(value: Any) -> str:
    """A duration for people: ``0.512s``, ``12.3s``, ``4m 05s``; ``-`` when unknown."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if value < 10:
        return f"{value:.3f}s"
    if value < 60:
        return f"{value:.1f}s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes}m {rest:02d}s"


def tokens_text(usage: Mapping[str, Any] | None) -> str:
    """``2,240 in / 123 out (896 cached)``; says so when the counts are missing or partial."""
    usage = mapping(usage)
    missing = count(usage.get("missing_calls"))
    known_in, known_out = count(usage.get("input_tokens")), count(usage.get("output_tokens"))
    if usage.get("complete") is False and not known_in and not known_out:
        return f"unknown ({plural(missing, 'call')} reported no counts)"
    text = f"{known_in:,} in / {known_out:,} out"
    extras = []
    if count(usage.get("cached_input_tokens")):
        extras.append(f"{count(usage.get('cached_input_tokens')):,} cached")
    if count(usage.get("reasoning_tokens")):
        extras.append(f"{count(usage.get('reasoning_tokens')):,} reasoning")
    if extras:
        text += f" ({', '.join(extras)})"
    if usage.get("complete") is False:
        text += f" [incomplete: {plural(missing, 'call')} without counts]"
    return text


def cost_text(cost: Any) -> str | None:
    """``$0.0123``, or ``unknown`` when a price or a count is missing; None when there is no cost.

    Unknown is never shown as zero.
    """
    if not isinstance(cost, Mapping):
        return None
    total = cost.get("total_usd")
    if cost.get("complete") is not True or not isinstance(total, int | float):
        return "unknown"
    if total <= 0:
        return "$0"
    if total >= 1:
        return f"${total:,.2f}"
    # Small amounts keep three significant digits, zeros included, so amounts side by side
    # read alike: $0.000142 and $0.000200, not $0.0002.
    digits = min(10, 2 - math.floor(math.log10(total)))
    return f"${total:.{digits}f}"


def clip(text: Any, width: int = 160) -> str:
    """One line of at most ``width`` characters (whitespace folded, ``…`` when cut)."""
    if not text:
        return ""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def explain_issues(data: RunTraceJSON) -> list[tuple[str, str]]:
    """Each data-quality flag of a run with what it means, in words."""
    issues = data.get("issues")
    if not isinstance(issues, Sequence) or isinstance(issues, str):
        return []
    missing = count(mapping(data.get("usage")).get("missing_calls"))
    explained = []
    for flag in issues:
        text = ISSUE_TEXT.get(str(flag), "A data-quality flag without a description.")
        explained.append(
            (
                str(flag),
                text.replace(
                    "{missing}", plural(missing, "LLM call") if missing else "Some LLM calls"
                ),
            )
        )
    return explained
