"""The HTML report on derived runs: escaping, the embedded data, cost, data quality, the index.

Runs here are derived from hand-built span records (``records.py``); real LlamaIndex runs in a
real browser are in ``test_report_e2e.py``.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, cast

import pytest
from support.records import TraceBuilder, assistant, handoff_trace, sys, tool_result, user

from otel_bridge import derive
from otel_bridge.errors import SpanFormatError
from otel_bridge.report import index_html, run_html
from otel_bridge.run_json import as_run_json
from otel_bridge.spans import iso, iso_ns

EVIL = "<b onmouseover=alert(1)>evil</b>"
PAYLOAD = "</script><script>window.__pwned = true</script>\u2028<img src=x onerror=alert(1)>"


def evil_trace() -> dict[str, Any]:
    """A run whose agent name, messages and tool output are HTML: none of it may become markup."""
    b = TraceBuilder(trace_id=0xE1)
    root = b.root(0, 50)
    step = b.step(root, EVIL, 1, 20)
    call = assistant(calls=[("c1", "fetch", {"url": PAYLOAD})])
    b.llm(step, 2, 19, [sys("You fetch."), user(PAYLOAD)], [call], usage=(40, 4))
    tool_step = b.call_tool(root, "c1", 21, 25)
    b.tool(tool_step, "fetch", {"url": PAYLOAD}, PAYLOAD, 22, 24)
    step2 = b.step(root, EVIL, 26, 40)
    b.llm(
        step2,
        27,
        39,
        [sys("You fetch."), user(PAYLOAD), call, tool_result("c1", PAYLOAD)],
        [assistant("Fetched.")],
        usage=(60, 6),
    )
    return cast(dict[str, Any], derive(b.spans).to_dict())


def payload_json(page: str) -> Any:
    [blob] = re.findall(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    return json.loads(blob)


def test_text_from_spans_is_escaped_everywhere() -> None:
    page = run_html(evil_trace())

    assert "<b onmouseover" not in page and "<img src=x" not in page
    assert "window.__pwned" in page  # present, as text
    assert page.count("<script") == 2  # the data element and the page's own script
    assert "&lt;b onmouseover=alert(1)&gt;evil&lt;/b&gt;" in page
    data = payload_json(page)
    tool = next(d for d in data["details"] if d["kind"] == "tool call")
    assert tool["output"] == PAYLOAD and tool["agent"] == EVIL


def test_embedded_json_cannot_end_its_element() -> None:
    page = run_html(evil_trace())
    [blob] = re.findall(r'id="report-data">(.*?)</script>', page, flags=re.S)
    assert "<" not in blob and ">" not in blob and "&" not in blob
    assert "\u2028" not in blob and "\\u2028" in blob


def test_the_page_loads_nothing_and_allows_only_its_own_script() -> None:
    page = run_html(derive(handoff_trace().spans))
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    policy = html.unescape(policy)
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page


def test_a_run_trace_and_its_json_give_the_same_page() -> None:
    trace = derive(handoff_trace().spans)
    assert run_html(trace) == run_html(trace.to_dict())


def test_handoff_run_shows_lanes_edges_and_totals() -> None:
    page = run_html(derive(handoff_trace().spans))

    assert re.findall(r'data-lane="\d+" aria-label="([^"]*)"', page) == ["researcher", "writer"]
    assert len(re.findall(r'<g class="edge" data-edge="1">', page)) == 1
    assert re.findall(r"<title>1\. (.*?)</title>", page) == ["researcher → writer: ready"]
    assert '<dd data-total="input_tokens">550</dd>' in page
    assert '<dd data-total="output_tokens">52</dd>' in page
    assert '<dd data-total="total_tokens">602</dd>' in page


def test_missing_token_counts_are_lower_bounds_explained_in_words() -> None:
    b = TraceBuilder(trace_id=0xAB)
    root = b.root(0, 30)
    b.llm(b.step(root, "solo", 1, 10), 2, 9, [user("q")], [assistant("a")], usage=(70, 7))
    b.llm(b.step(root, "solo", 11, 20), 12, 19, [user("q2")], [assistant("b")], usage=None)
    page = run_html(derive(b.spans))

    assert '<dd data-total="input_tokens">≥70</dd>' in page
    assert "1 call without counts" in page
    assert "<code>tokens_missing</code>: 1 LLM call reported no token counts" in page


def _with_cost(data: dict[str, Any], total: float | None, complete: bool) -> dict[str, Any]:
    cost = {"total_usd": total, "input_usd": None, "output_usd": None, "complete": complete}
    return {**data, "cost": cost}


def test_cost_is_shown_when_known_unknown_when_not_and_hidden_when_absent() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    data.pop("cost", None)
    data.pop("cost_by_model", None)
    for stats in data["agents"].values():
        stats.pop("cost", None)

    assert 'data-total="cost"' not in run_html(data)
    known = run_html(_with_cost(data, 0.0123, True))
    assert '<dd data-total="cost">$0.0123</dd>' in known
    partial = run_html(_with_cost(data, 0.0123, False))
    assert '<dd data-total="cost">unknown <small class="below">a price or' in partial
    assert "$0.0123" not in partial and "$0<" not in partial
    unpriced = _with_cost(data, 0.0123, False)
    unpriced["cost"]["unpriced_calls"] = 2
    assert "2 LLM calls could not be priced" in run_html(unpriced)


def test_the_index_lists_links_escapes_and_sorts_by_values() -> None:
    first = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    second = evil_trace()
    page = index_html([first, second])

    assert re.findall(r'<a href="([^"]+)">', page) == [
        f"{first['trace_id']}.html",
        f"{second['trace_id']}.html",
    ]
    assert EVIL not in page and "&lt;b onmouseover=alert(1)&gt;evil&lt;/b&gt;" in page
    tokens_then_time = (
        r'<td class="tokens" data-v="(\d+)"[^>]*>[\d,≥]+</td>\n<td data-v="[\d.]+">[\d.]+s<'
    )
    assert re.findall(tokens_then_time, page) == [
        "602",
        "110",
    ]


@pytest.mark.parametrize("bad", [None, [], "run", {"status": "ok"}, {"trace_id": 7}])
def test_something_else_than_run_trace_json_is_one_clear_error(bad: Any) -> None:
    with pytest.raises(SpanFormatError, match="not RunTrace JSON"):
        run_html(bad)


def test_amounts_side_by_side_keep_three_significant_digits() -> None:
    from otel_bridge.report import cost_text

    def cost(total: float) -> dict[str, object]:
        return {"total_usd": total, "complete": True}

    assert [cost_text(cost(x)) for x in (0.000142, 0.0002001, 0.0123, 0.5, 12.345)] == [
        "$0.000142",
        "$0.000200",
        "$0.0123",
        "$0.500",
        "$12.35",
    ]
    assert cost_text({"total_usd": None, "complete": False}) == "unknown"


# ---- labels, the index's order, the timeline's layout ------------------------------------------


def _at(data: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    return {**data, "start": start, "end": end}


def test_the_run_page_header_shows_task_repetition_and_session() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    data["labels"] = {"session_id": "s-<1>", "task_id": "t7", "repetition": 0}
    page = run_html(data)
    header = page.split('<dl class="labels" id="run-labels">')[1].split("</dl>")[0]
    assert re.findall(
        r'<div data-label="(\w+)"><dt>\w+</dt><dd class="mono">([^<]*)</dd>', header
    ) == [
        ("task", "t7"),
        ("repetition", "0"),  # zero is a repetition, not a missing one
        ("session", "s-&lt;1&gt;"),
    ]
    data["labels"] = {"session_id": None, "task_id": None, "repetition": None}
    assert 'id="run-labels"' not in run_html(data)


def test_the_index_lists_newest_first_and_filters_by_the_labels_that_differ() -> None:
    base = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    runs = [
        {
            **_at(base, f"2026-01-0{day}T10:00:00Z", f"2026-01-0{day}T10:01:00Z"),
            "trace_id": f"{day:032x}",
            "labels": {"session_id": "s", "task_id": f"task-{day % 2}", "repetition": day},
        }
        for day in (2, 1, 3)
    ]
    page = index_html(runs)
    assert re.findall(r'<a href="0+(\d)\.html">', page) == ["3", "2", "1"]
    filters = dict(re.findall(r'<select data-filter="(\w+)">(.*?)</select>', page))
    assert set(filters) == {"task", "repetition"}  # one session: nothing to filter by
    assert re.findall(r'<option value="([^"]+)">', filters["task"]) == ["task-0", "task-1"]
    assert re.findall(r'<option value="([^"]+)">', filters["repetition"]) == ["1", "2", "3"]
    assert '<tr data-status="ok" data-task="task-1" data-repetition="3" data-session="s">' in page


def test_the_time_before_the_first_call_is_named_and_badges_sit_on_lane_borders() -> None:
    from otel_bridge.report import lay_out

    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    t0 = iso_ns(data["start"])
    first = min(iso_ns(c["start"]) for c in data["llm_calls"])
    assert first > t0  # the builder's first LLM call starts after the root
    late = {**data, "start": iso(first - 250_000_000)}
    late["end"] = iso(first - 250_000_000 + 1_000_000_000)
    timeline = lay_out(as_run_json(late))
    assert timeline.lead is not None
    assert (timeline.lead.width, timeline.lead.label) == ("25", "0.250s before the first LLM call")
    assert timeline.lead.inline  # a quarter of the run: wide enough to say it inside itself
    narrow = {**late, "end": iso(first - 250_000_000 + 5_000_000_000)}  # 5% of the run
    assert lay_out(as_run_json(narrow)).lead.inline is False  # type: ignore[union-attr]
    assert "before the first" in run_html(late) and 'id="lead"' in run_html(late)
    [arrow] = timeline.arrows  # researcher (lane 0) -> writer (lane 1): on the border between
    assert (arrow.top, arrow.bottom, arrow.down, arrow.badge) == (0, 1, True, 1)
    prompt = {**data, "start": iso(first)}  # the first call starts the run: nothing to name
    assert lay_out(as_run_json(prompt)).lead is None


def test_a_handoff_tool_is_drawn_as_one_whatever_the_framework_calls_it() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    for call in data["tool_calls"]:  # the OpenAI Agents SDK's and LangGraph's name for it
        call["name"] = call["name"].replace("handoff", "transfer_to_writer")
    page = run_html(data)
    assert re.findall(r'class="bar (\w+)', page) == ["llm", "llm", "tool", "handoff", "llm"]
    assert "transfer_to_writer" in page


def test_no_time_label_sticks_out_at_the_right_edge() -> None:
    page = run_html(derive(handoff_trace().spans))  # 100 ms: a label at 100% would stick out
    ticks = re.findall(r'<span class="tick" style="left:([\d.]+)%">([^<]*)', page)
    assert ticks == [("0", "0"), ("20", "20 ms"), ("40", "40 ms"), ("60", "60 ms"), ("80", "80 ms")]


def test_delegations_are_counted_beside_the_handoffs() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    page = run_html(data)
    assert "<dt>agents · handoffs</dt><dd>2 · 1</dd>" in page
    assert "deleg." not in index_html([data])
    data["delegations"] = [
        {"from": "researcher", "to": "writer", "task": "t", "at": data["end"], "tool_call_id": "c9"}
    ]
    page = run_html(data)
    assert "<dt>agents · handoffs · delegations</dt><dd>2 · 1 · 1</dd>" in page
    assert ">+1 deleg.</small>" in index_html([data])


def test_a_delegation_is_an_arrow_of_its_own_on_the_timeline_numbered_as_in_the_list() -> None:
    from otel_bridge.report import lay_out

    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    t0, t1 = iso_ns(data["start"]), iso_ns(data["end"])
    quarter, half = iso(t0 + (t1 - t0) // 4), iso(t0 + (t1 - t0) // 2)
    data["delegations"] = [  # back up a lane, then down to an agent no call names
        {"from": "writer", "to": "researcher", "task": "check", "at": quarter, "tool_call_id": "1"},
        {"from": "writer", "to": "critic", "task": None, "at": half, "tool_call_id": None},
    ]
    timeline = lay_out(as_run_json(data))
    assert [lane.name for lane in timeline.lanes] == ["researcher", "writer", "critic"]
    handoff, *delegated = timeline.arrows
    assert (handoff.kind, handoff.mark) == ("handoff", "1")
    first, second = delegated
    assert (first.kind, first.mark, first.left, first.top, first.bottom) == (
        "delegation",
        "D1",
        "25",
        0,
        1,
    )
    assert (first.down, first.badge) == (False, 1)  # up from the writer: its badge on its border
    assert first.title == (
        f"delegation D1: writer → researcher at {first.at} (control returns to writer): check"
    )
    assert (second.mark, second.left, second.top, second.bottom, second.down) == (
        "D2",
        "50",
        1,
        2,
        True,
    )
    assert second.title.endswith("(control returns to writer)")  # no task: nothing after it

    page = run_html(data)
    drawn = re.findall(r'<div class="arrow (\w+)( delegation)?" data-(\w+(?:-\w+)?)="(\d)"', page)
    assert drawn == [
        ("down", "", "arrow", "1"),
        ("up", " delegation", "delegation-arrow", "1"),
        ("down", " delegation", "delegation-arrow", "2"),
    ]
    assert re.findall(r'data-delegation-arrow="\d"[^>]*><span>(\w+)</span>', page) == ["D1", "D2"]
    assert 'data-find="delegation"' in page  # the legend finds them
    listed = re.findall(
        r'delegated to <span class="chip c\d">\w+</span> <span class="muted">([^<]*)', page
    )
    assert listed == [
        f"at {first.at} (control returns to writer)",
        f"at {second.at} (control returns to writer)",
    ]
    # the handoff list still tells its own time (numbers of both kinds start at 1)
    assert f'<span class="muted">at {handoff.at}</span>' in page
    assert 'data-find="delegation"' not in run_html(derive(handoff_trace().spans))


def test_the_framework_is_named_in_the_header_and_filters_the_index() -> None:
    llama = derive(handoff_trace().spans).to_dict()  # AgentWorkflow's step names
    smol = cast(dict[str, Any], dict(llama))
    smol["trace_id"], smol["labels"] = "b" * 32, {**llama["labels"], "framework": "smolagents"}
    header = run_html(llama).split('<dl class="labels" id="run-labels">')[1].split("</dl>")[0]
    assert '<div data-label="framework"><dt>framework</dt><dd class="mono">llama_index</dd>' in (
        header
    )
    index = index_html([llama, smol])
    assert re.findall(r'<select data-filter="(\w+)">', index) == ["framework"]
    assert 'data-framework="smolagents"' in index and 'data-framework="llama_index"' in index
    assert "task · rep · session" not in index  # no task, repetition or session to show
