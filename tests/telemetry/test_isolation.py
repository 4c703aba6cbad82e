"""Isolation: many runs at once share one Telemetry and each gets exactly its own data.

Runs go through MASEval's adapter on 8 threads (a new adapter per run, one agent object per
kind shared by every thread, as a MASEval ``Benchmark`` with workers does) and as plain agent
runs under ``asyncio.gather`` on one event loop. Every run's messages, tool calls and token
counts must equal the scripted server's ground truth for that run: what it was asked (the
last request's history), what it answered (tool calls with their ids, final text) and the
usage it sent. The OTLP/JSON file the Telemetry wrote must hold every run, deriving to the
same RunTrace. ``python stress/isolation.py`` runs 1,000 of them; the suite runs 40.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.adapter_fixtures import add, calc_agent, demo, demo_workflow, scripted_server
from support.runs import traced

from otel_bridge import RunTrace, Telemetry, derive_all, load_spans
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage

__all__ = ["scripted_server"]  # the module fixture, imported for pytest

THREADS = 8
DEMO_EVERY = 5  # every fifth run is the two-agent demo workflow (a handoff), the rest calc runs

Message = tuple[str, str, tuple[tuple[str, str, Any], ...], str | None]


@dataclass
class Truth:
    """What a run said and was told, normalised to compare the server's log with a RunTrace."""

    usage: tuple[int, int, int]  # input, output, cached input tokens
    tool_calls: list[tuple[str, str, Any]]  # id, name, arguments (parsed)
    messages: list[Message] = field(default_factory=list)  # without system prompts


def marker(i: int) -> str:
    return f"run-{i:04d}"


def question(i: int) -> str:
    """The user message of run ``i``: its marker routes the server's replies."""
    if i % DEMO_EVERY == 0:
        return f"{marker(i)}: {demo().user_msg}"
    return f"{marker(i)}: what is {i} + 7?"


def script(runs: int) -> ConversationRouter:
    """One conversation per run; calc runs each with their own numbers and token counts."""
    conversations: dict[str, Sequence[Reply]] = {}
    for i in range(runs):
        if i % DEMO_EVERY == 0:
            conversations[marker(i)] = demo().replies
        else:
            conversations[marker(i)] = [
                Reply(
                    tool_calls=[ToolCallSpec("add", {"a": i, "b": 7})],
                    usage=Usage(prompt=100 + i, completion=10 + i % 7, cached=i % 3 * 16),
                ),
                Reply(content=f"The sum is {i + 7}.", usage=Usage(prompt=140 + i, completion=8)),
            ]
    return ConversationRouter(conversations)


def _message(message: Mapping[str, Any]) -> Message:
    calls = tuple(
        (c["id"], c["function"]["name"], _args(c["function"]["arguments"]))
        for c in message.get("tool_calls") or ()
    )
    return (message["role"], message.get("content") or "", calls, message.get("tool_call_id"))


def _args(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def ground_truth(server: ScriptedLLMServer, router: ConversationRouter) -> dict[str, Truth]:
    """Per run marker, from the server's log: usage sent, tool calls sent, the whole history."""
    exchanges = defaultdict(list)
    for exchange in server.log:
        exchanges[router.marker_for(exchange.request_json)].append(exchange)
    truth = {}
    for name, mine in exchanges.items():
        mine.sort(key=lambda e: e.index)
        sent = [e.usage_sent for e in mine if e.usage_sent is not None]
        assert len(sent) == len(mine), f"{name}: every exchange reported usage"
        calls = [
            (call_id, spec.name, _args(spec.arguments_json))
            for e in mine
            if e.reply is not None
            for spec, call_id in zip(e.reply.tool_calls, e.tool_call_ids, strict=True)
        ]
        last = mine[-1]
        assert last.reply is not None
        history = [_message(m) for m in last.messages if m.get("role") != "system"]
        history.append(("assistant", last.reply.content, (), None))
        truth[name] = Truth(
            usage=(
                sum(u.prompt for u in sent),
                sum(u.completion for u in sent),
                sum(u.cached or 0 for u in sent),
            ),
            tool_calls=calls,
            messages=history,
        )
    return truth


def observed(run: RunTrace) -> Truth:
    """The same, from a RunTrace."""
    return Truth(
        usage=(run.usage.input_tokens, run.usage.output_tokens, run.usage.cached_input_tokens),
        tool_calls=[(t.tool_call_id or "", t.name, t.arguments) for t in run.tool_calls],
        messages=[_message(m) for m in run.messages if m["role"] != "system"],
    )


@dataclass
class Outcome:
    """The RunTraces of one isolation run, by marker, and what failed outright."""

    runs: dict[str, RunTrace] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def run_on_threads(
    server: ScriptedLLMServer, telemetry: Telemetry, indexes: Sequence[int], threads: int
) -> Outcome:
    """The runs through the adapter, shared out to ``threads`` threads that start together."""
    calc, team = calc_agent(server, include_usage=True), demo_workflow(server)
    outcome = Outcome()
    lock = threading.Lock()

    def work(mine: Sequence[int], start: threading.Barrier) -> None:
        start.wait()
        for i in mine:
            agent = team if i % DEMO_EVERY == 0 else calc
            adapter = LlamaIndexAgentAdapter(agent, f"worker-{i}", telemetry)
            try:
                adapter.run(question(i))
                assert adapter.last_run is not None
                with lock:
                    outcome.runs[marker(i)] = adapter.last_run
            except Exception as exc:
                with lock:
                    outcome.errors.append(f"{marker(i)}: {type(exc).__name__}: {exc}")

    # The first run of each kind runs alone: on its first use the OpenAI client looks a module
    # up in sys.modules while another thread may still be importing it (a library race).
    first = [
        min(i for i in indexes if i % DEMO_EVERY == 0),
        min(i for i in indexes if i % DEMO_EVERY),
    ]
    work(first, threading.Barrier(1))
    rest = [i for i in indexes if i not in first]
    start = threading.Barrier(threads)
    workers = [
        threading.Thread(target=work, args=(rest[t::threads], start)) for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcome


async def run_gathered(
    server: ScriptedLLMServer, telemetry: Telemetry, indexes: Sequence[int]
) -> Outcome:
    """The runs as plain agent runs under ``asyncio.gather`` on this loop, each in its root span."""
    calc = calc_agent(server, include_usage=True)
    team = demo_workflow(server, include_usage=True)

    def one(i: int) -> Callable[[], Awaitable[Any]]:
        agent: Any = team if i % DEMO_EVERY == 0 else calc
        return lambda: agent.run(user_msg=question(i))

    results = await asyncio.gather(*(traced(telemetry, one(i), marker(i)) for i in indexes))
    outcome = Outcome()
    for i, (result, trace_id) in zip(indexes, results, strict=True):
        if isinstance(result, Exception):
            outcome.errors.append(f"{marker(i)}: {type(result).__name__}: {result}")
        else:
            outcome.runs[marker(i)] = telemetry.run_trace(trace_id)
    return outcome


def mismatches(runs: Mapping[str, RunTrace], truth: Mapping[str, Truth]) -> dict[str, list[str]]:
    """Per kind of data, the markers whose RunTrace differs from the ground truth."""
    found: dict[str, list[str]] = {"messages": [], "tool calls": [], "tokens": [], "issues": []}
    for name, run in runs.items():
        seen, real = observed(run), truth[name]
        if seen.messages != real.messages:
            found["messages"].append(name)
        if seen.tool_calls != real.tool_calls:
            found["tool calls"].append(name)
        if seen.usage != real.usage:
            found["tokens"].append(name)
        if run.issues:
            found["issues"].append(f"{name}: {run.issues}")
    return found


def same_in_file(path: Path, runs: Mapping[str, RunTrace]) -> list[str]:
    """Markers whose RunTrace derived from the OTLP/JSON file differs from the in-memory one."""
    from_file = {t.trace_id: t.to_dict() for t in derive_all(load_spans(path))}
    return [name for name, run in runs.items() if from_file.get(run.trace_id) != run.to_dict()]


def test_runs_on_threads_and_under_gather_each_get_their_own_data(
    scripted_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    threaded, gathered = list(range(32)), list(range(32, 40))
    router = script(40)
    scripted_server.set_script(router)
    scripted_server.clear_log()
    path = tmp_path / "runs.otlp.json"
    telemetry = Telemetry(otlp_json_file=path, service_name="isolation")
    try:
        outcome = run_on_threads(scripted_server, telemetry, threaded, THREADS)
        more = asyncio.run(run_gathered(scripted_server, telemetry, gathered))
    finally:
        telemetry.shutdown()
    runs = {**outcome.runs, **more.runs}

    assert outcome.errors + more.errors == []
    assert len(runs) == 40 and len({r.trace_id for r in runs.values()}) == 40
    truth = ground_truth(scripted_server, router)
    assert sorted(truth) == sorted(runs)
    assert mismatches(runs, truth) == {"messages": [], "tool calls": [], "tokens": [], "issues": []}
    assert runs[marker(3)].output == "The sum is 10." and add(3, 7) == 10
    assert [(h.from_agent, h.to_agent) for h in runs[marker(35)].handoffs] == [
        ("researcher", "writer")
    ]
    assert same_in_file(path, runs) == []
