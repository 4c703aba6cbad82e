"""The waterfall of one run: a lane per agent, its LLM and tool calls as bars, handoff and
delegation arrows.

Pure geometry over RunTrace JSON: positions are percentages of the run's wall time, so the
page can zoom by widening one element, and nothing is laid out again in the browser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..run_json import RunTraceJSON
from ..spans import iso_ns
from ._format import (
    PassKind,
    clip,
    cost_text,
    count,
    mapping,
    pass_mark,
    plural,
    seconds,
    tokens_text,
)

__all__ = [
    "NO_AGENT",
    "Arrow",
    "Bar",
    "Lane",
    "Lead",
    "Tick",
    "Timeline",
    "lane_names",
    "lay_out",
]

NO_AGENT = "(no agent)"
BarKind = Literal["llm", "tool", "handoff", "error"]
Track = Literal["llm", "tool"]
# A bar narrower than this (in % of the run) is widened so that it stays visible and clickable.
MIN_WIDTH_PCT = 0.05
# A stretch before the first call longer than this (in % of the run) is labelled on the page.
LEAD_MIN_PCT = 3.0
# ... and from this wide on, it says so inside itself too (else in the legend only).
LEAD_TEXT_PCT = 15.0
# No time label further right than this (in % of the run): written right of its line, it would
# stick out of the timeline and make it scroll sideways (and left of it, cover the one before).
TICK_MAX_PCT = 90.0


@dataclass(frozen=True, slots=True)
class Lane:
    """One agent's row; ``colour`` indexes the page's agent palette."""

    name: str
    colour: int
    summary: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One LLM or tool call; ``index`` is its entry in the page's details data."""

    index: int
    lane: int
    track: Track
    kind: BarKind
    left: str
    width: str
    ttft: str | None  # first-token mark, in % of the bar's own width
    title: str


@dataclass(frozen=True, slots=True)
class Arrow:
    """A handoff or delegation at ``left`` from lane ``top``/``bottom`` (``down`` when the
    target is below); ``number`` counts the run's handoffs, or its delegations."""

    number: int
    left: str
    top: int
    bottom: int
    down: bool
    at: str
    title: str
    badge: int = 0  # the lane border its number sits on: the source's, between tracks, off bars
    kind: PassKind = "handoff"

    @property
    def mark(self) -> str:
        """What its badge says: ``2`` for the second handoff, ``D2`` for the second delegation
        (as the graph and the lists below it say)."""
        return pass_mark(self.kind, self.number)


@dataclass(frozen=True, slots=True)
class Tick:
    """A time-axis label."""

    left: str
    label: str


@dataclass(frozen=True, slots=True)
class Lead:
    """The stretch from the run's start to its first call (``width`` in % of the run)."""

    width: str
    label: str
    title: str
    inline: bool  # wide enough to hold its label


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the waterfall shows, plus the details a click reveals (JSON-native)."""

    lanes: list[Lane]
    bars: list[Bar]
    arrows: list[Arrow]
    ticks: list[Tick]
    details: list[dict[str, Any]]
    lead: Lead | None = None


def lane_names(data: RunTraceJSON) -> list[str]:
    """The run's agents in order of first appearance, then any others its calls, handoffs or
    delegations name, then '(no agent)' when some call has none."""
    calls = [mapping(c) for c in [*(data.get("llm_calls") or ()), *(data.get("tool_calls") or ())]]
    passes = [*(data.get("handoffs") or ()), *(data.get("delegations") or ())]
    ends = [mapping(p).get(k) for p in passes for k in ("from", "to")]
    names = dict.fromkeys(
        str(name)
        for name in [*mapping(data.get("agents")), *(c.get("agent") for c in calls), *ends]
        if name
    )
    if any(not c.get("agent") for c in calls):
        names[NO_AGENT] = None
    return list(names)


def _ns(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return iso_ns(text)
    except ValueError:
        return None


def _pct(value: float) -> str:
    return f"{max(0.0, min(100.0, value)):.3f}".rstrip("0").rstrip(".") or "0"


def _arguments(value: Any) -> str:
    """Tool arguments as indented JSON for reading (text that is not JSON stays as it is)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except ValueError:
        return str(value)


class _Clock:
    """Maps ISO times of the run to percentages of its wall time."""

    def __init__(self, data: RunTraceJSON) -> None:
        times = [
            t
            for c in [*(data.get("llm_calls") or ()), *(data.get("tool_calls") or ())]
            for t in (_ns(mapping(c).get("start")), _ns(mapping(c).get("end")))
            if t is not None
        ]
        start, end = _ns(data.get("start")), _ns(data.get("end"))
        self.start = start if start is not None else min(times, default=0)
        self.end = max([end if end is not None else self.start, *times])
        self.span = max(self.end - self.start, 1)

    def at(self, ns: int) -> float:
        return (ns - self.start) * 100.0 / self.span

    def offset(self, ns: int) -> str:
        return seconds((ns - self.start) / 1e9)


# Round tick steps in seconds; beyond the last one, steps double.
_STEPS = (
    *(m * 10.0**e for e in range(-3, 1) for m in (1, 2, 5)),
    *(10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
)


def _tick_label(at_s: float, step_s: float) -> str:
    if at_s == 0:
        return "0"
    if step_s < 0.5:
        return f"{at_s * 1000:,.0f} ms"
    if step_s < 60:
        return f"{at_s:g} s"
    return f"{at_s / 60:g} min"


def _ticks(span_ns: int, wanted: int = 8) -> list[Tick]:
    """At most about ``wanted`` labels at round times."""
    span_s = span_ns / 1e9
    step = next((s for s in _STEPS if span_s / s <= wanted), _STEPS[-1])
    while span_s / step > wanted:
        step *= 2
    steps = int(span_s / step + 1e-9)
    at = [i * step * 100 / max(span_s, 1e-9) for i in range(steps + 1)]
    return [
        Tick(_pct(left), _tick_label(round(i * step, 6), step))
        for i, left in enumerate(at)
        if left <= TICK_MAX_PCT
    ]


def lay_out(data: RunTraceJSON) -> Timeline:
    """The waterfall of a run from its RunTrace JSON."""
    names = lane_names(data)
    lane_of = {name: i for i, name in enumerate(names)}
    # A handoff's tool call is drawn as a handoff, whatever the framework names its tool.
    handoff_ids = {mapping(h).get("tool_call_id") for h in data.get("handoffs") or ()}
    handoff_ids.discard(None)
    agents = mapping(data.get("agents"))
    lanes = []
    for i, name in enumerate(names):
        stats = mapping(agents.get(name))
        usage = mapping(stats.get("usage"))
        summary = (
            f"{count(stats.get('llm_calls'))} LLM · "
            f"{plural(count(stats.get('tool_calls')), 'tool')} · "
            f"{'' if usage.get('complete') is not False else '≥'}"
            f"{count(usage.get('total_tokens')):,} tokens"
            if stats
            else ""
        )
        lanes.append(Lane(name, i % 8, summary))
    clock = _Clock(data)
    bars: list[Bar] = []
    details: list[dict[str, Any]] = []
    tracks: tuple[tuple[Track, Any], ...] = (
        ("llm", data.get("llm_calls")),
        ("tool", data.get("tool_calls")),
    )
    for track, calls in tracks:
        for call in map(mapping, calls or ()):
            placed = _place(call, clock)
            if placed is None:
                continue
            left, width, start = placed
            agent = str(call.get("agent") or NO_AGENT)
            if track == "llm":
                kind, ttft, title, detail = _llm_call(call, agent, clock.offset(start))
            else:
                kind, ttft, title, detail = _tool_call(call, agent, clock.offset(start))
                if call.get("tool_call_id") in handoff_ids:  # transfer_to_<agent>, handoff...
                    kind = "handoff"
            failed = call.get("status") == "error"
            bars.append(
                Bar(
                    len(details),
                    lane_of[agent],
                    track,
                    "error" if failed else kind,
                    _pct(left),
                    _pct(width),
                    ttft,
                    title + (" · error" if failed else ""),
                )
            )
            details.append(detail)
    arrows = [
        *_arrows("handoff", data.get("handoffs"), lane_of, clock),
        *_arrows("delegation", data.get("delegations"), lane_of, clock),
    ]
    return Timeline(lanes, bars, arrows, _ticks(clock.span), details, _lead(data, clock))


def _arrows(kind: PassKind, passes: Any, lane_of: dict[str, int], clock: _Clock) -> list[Arrow]:
    """An arrow per handoff or delegation that says when, from whom and to whom; numbered by
    its place in the run's list (so a number matches the graph's and the list's)."""
    arrows = []
    for number, raw in enumerate(passes or (), start=1):
        passed = mapping(raw)
        at = _ns(passed.get("at"))
        source, target = passed.get("from"), passed.get("to")
        if at is None or not source or not target:
            continue
        start, end = lane_of[str(source)], lane_of[str(target)]
        top, bottom = sorted((start, end))
        if kind == "handoff":
            reason = passed.get("reason") or "no reason given"
            title = f"handoff {number}: {source} → {target} at {clock.offset(at)}: {reason}"
        else:
            task = passed.get("task")
            title = (
                f"delegation {pass_mark(kind, number)}: {source} → {target} at {clock.offset(at)} "
                f"(control returns to {source})"
                + (f": {clip(task, 200)}" if isinstance(task, str) and task else "")
            )
        arrows.append(
            Arrow(
                number=number,
                left=_pct(clock.at(at)),
                top=top,
                bottom=bottom,
                down=end > start,
                badge=top + 1 if end > start else bottom,
                at=clock.offset(at),
                title=title,
                kind=kind,
            )
        )
    return arrows


def _lead(data: RunTraceJSON, clock: _Clock) -> Lead | None:
    """What the run did before its first LLM or tool call, when that is long enough to see."""
    firsts = [
        (start, kind)
        for kind, calls in (("llm", data.get("llm_calls")), ("tool", data.get("tool_calls")))
        for call in calls or ()
        if (start := _ns(mapping(call).get("start"))) is not None
    ]
    if not firsts:
        return None
    start, kind = min(firsts)
    if clock.at(start) < LEAD_MIN_PCT:
        return None
    what = "LLM call" if kind == "llm" else "tool call"
    label = f"{clock.offset(start)} before the first {what}"
    return Lead(
        _pct(clock.at(start)),
        label,
        f"{label}: the run's start-up, covered by no LLM or tool span (the framework "
        "starting the run and preparing the first request)",
        clock.at(start) >= LEAD_TEXT_PCT,
    )


def _place(call: Mapping[str, Any], clock: _Clock) -> tuple[float, float, int] | None:
    """Left and width (% of the run) and the start of a call; None when it has no start."""
    start, end = _ns(call.get("start")), _ns(call.get("end"))
    if start is None:
        return None
    end = max(end if end is not None else start, start)
    left = clock.at(start)
    width = max(clock.at(end) - left, MIN_WIDTH_PCT)
    return min(left, 100.0 - MIN_WIDTH_PCT), width, start


# What a bar shows of its call: its kind (unless it failed), the first-token mark (% of the
# bar), its title (without " · error") and the details a click reveals.
BarText = tuple[BarKind, str | None, str, dict[str, Any]]


def _llm_call(call: Mapping[str, Any], agent: str, at: str) -> BarText:
    duration, ttft = call.get("duration_s"), call.get("time_to_first_token_s")
    usage = mapping(call.get("usage"))
    ttft_pct = None
    if isinstance(ttft, int | float) and isinstance(duration, int | float) and duration > 0:
        ttft_pct = _pct(ttft * 100 / duration)
    model = str(call.get("model") or "unknown model")
    title = f"{agent} · LLM {model} · {seconds(duration)}"
    if isinstance(ttft, int | float):
        title += f" · first token {seconds(ttft)}"
    title += f" · {tokens_text(usage)}"
    detail = {
        "kind": "LLM call",
        "agent": agent,
        "model": model,
        "provider": call.get("provider"),
        "at": at,
        "duration": seconds(duration),
        "first token": seconds(ttft) if isinstance(ttft, int | float) else None,
        "tokens": tokens_text(usage),
        "cost": cost_text(call.get("cost")),
        "finish reason": call.get("finish_reason"),
        "status": call.get("status"),
        "span id": call.get("span_id"),
    }
    return "llm", ttft_pct, title, detail


def _tool_call(call: Mapping[str, Any], agent: str, at: str) -> BarText:
    name = str(call.get("name") or "tool")
    detail = {
        "kind": "tool call",
        "agent": agent,
        "tool": name,
        "at": at,
        "duration": seconds(call.get("duration_s")),
        "status": call.get("status"),
        "error": call.get("error"),
        "tool call id": call.get("tool_call_id"),
        "span id": call.get("span_id"),
        "arguments": _arguments(call.get("arguments")),
        "output": call.get("output"),
    }
    title = f"{agent} · tool {name} · {seconds(call.get('duration_s'))}"
    return "handoff" if name == "handoff" else "tool", None, title, detail
