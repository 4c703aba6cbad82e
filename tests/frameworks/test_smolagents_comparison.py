"""Side by side: MASEval's memory-based SmolAgentAdapter and ours, on the same real smolagents.

Both run the same ToolCallingAgent (one tool call), the same manager with a managed agent, and
two invocations of one agent, against the scripted server, whose log is the ground truth. Ours
must match it (tool calls and results in messages, total, input and cached tokens, per-agent
tokens, the delegation, both turns after a second run) where MASEval's does not.

``python tests/frameworks/test_smolagents_comparison.py`` prints the markdown table of
docs/maseval_comparison.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from maseval.interface.agents.smolagents import SmolAgentAdapter as MasevalAdapter
from support import smol_scenarios as sc
from support.adapter_fixtures import module_telemetry, scripted_server

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import SmolAgentAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

SINGLE = "What is OpenTelemetry?"
TEAM = "Tell me about OpenTelemetry."
FIRST, SECOND = "First question: what is OTel?", "Second question: who hosts it?"
RESEARCHER = "named 'researcher'"
SEARCH = Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(120, 12))


def router() -> ConversationRouter:
    return ConversationRouter(
        {
            SINGLE: [SEARCH, sc.answer("A CNCF project.", Usage(160, 9, cached=64))],
            TEAM: [
                Reply(
                    tool_calls=[ToolCallSpec("researcher", {"task": "find facts"})],
                    usage=Usage(300, 15),
                ),
                sc.answer("Done: CNCF.", Usage(380, 9, cached=128)),
            ],
            RESEARCHER: [
                Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(200, 10)),
                sc.answer("CNCF.", Usage(240, 7)),
            ],
            # a continued conversation (ours) re-sends the first turn; a reset one (MASEval's)
            # starts with the second question
            FIRST: [
                SEARCH,
                sc.answer("A CNCF project.", Usage(160, 9)),
                sc.answer("The CNCF.", Usage(260, 6)),
            ],
            SECOND: [sc.answer("The CNCF.", Usage(90, 6))],
        }
    )


@dataclass(frozen=True)
class Measured:
    """What one adapter reported (or what the server sent) for one scenario."""

    tool_calls: int  # tool calls in get_messages() (as tool calls, not text)
    tool_results: int
    total_tokens: int
    input_tokens: int
    cached_tokens: int
    researcher_input_tokens: int | None  # per agent
    delegations: int | None
    user_turns: int  # questions that survive in get_messages()


def measure(adapter: Any, ours: bool) -> Measured:
    messages = adapter.get_messages().to_list()
    usage = adapter.gather_usage()
    agents = adapter.gather_traces().get("agents", {}) if ours else {}
    researcher = agents.get("researcher", {}).get("usage", {}).get("input_tokens") if ours else None
    users = [m for m in messages if m.get("role") == "user" and m.get("agent") != "researcher"]
    questions = sum(1 for m in users if any(q in str(m.get("content")) for q in (FIRST, SECOND)))
    return Measured(
        tool_calls=sum(len(m.get("tool_calls") or ()) for m in messages),
        tool_results=sum(1 for m in messages if m.get("role") == "tool"),
        total_tokens=usage.total_tokens,
        input_tokens=usage.input_tokens,
        cached_tokens=usage.cached_input_tokens,
        researcher_input_tokens=researcher,
        delegations=len(adapter.gather_traces()["delegations"]) if ours else None,
        user_turns=questions,
    )


def run(kind: str, adapter: Any) -> None:
    if kind == "two_invocations":
        adapter.run(FIRST)
        adapter.run(SECOND)
    else:
        adapter.run(SINGLE if kind == "single" else TEAM)


def agent_for(kind: str, server: ScriptedLLMServer) -> Any:
    return sc.team(server) if kind == "team" else sc.agent(server)


def truth(server: ScriptedLLMServer, kind: str) -> Measured:
    """What the server sent during the run (its log is cleared before each)."""
    sent = server.usage_sent_total()
    researcher = [e for e in server.log if RESEARCHER in str(e.messages[1].get("content"))]
    calls = sum(len(e.tool_call_ids) for e in server.log)
    return Measured(
        tool_calls=calls,
        tool_results=calls,
        total_tokens=sent.total,
        input_tokens=sent.prompt,
        cached_tokens=sent.cached or 0,
        researcher_input_tokens=sum(e.usage_sent.prompt for e in researcher if e.usage_sent)
        if kind == "team"
        else None,
        delegations=1 if kind == "team" else 0,
        user_turns=2 if kind == "two_invocations" else 0,
    )


def compare(
    kind: str, server: ScriptedLLMServer, telemetry: Telemetry
) -> tuple[Measured, Measured, Measured]:
    """(ground truth, MASEval's adapter, ours) for one scenario, each on a fresh agent."""
    server.set_script(router())
    server.clear_log()
    theirs = MasevalAdapter(agent_for(kind, server), "maseval")
    run(kind, theirs)
    server.clear_log()
    ours = SmolAgentAdapter(agent_for(kind, server), "ours", telemetry)
    run(kind, ours)
    return truth(server, kind), measure(theirs, False), measure(ours, True)


TRUTH = {
    "single": Measured(2, 2, 301, 280, 64, None, 0, 0),
    "team": Measured(4, 4, 1161, 1120, 128, 440, 1, 0),
    "two_invocations": Measured(3, 3, 567, 540, 0, None, 0, 2),
}


@pytest.mark.parametrize("kind", ["single", "team", "two_invocations"])
def test_ours_matches_the_server_where_masevals_does_not(
    kind: str, scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    sent, theirs, ours = compare(kind, scripted_server, module_telemetry)

    assert sent == TRUTH[kind]
    assert ours == sent
    assert theirs.tool_calls == theirs.tool_results == 0  # tool calls come back as text
    if kind == "team":
        assert theirs.input_tokens == 300 + 380  # the manager's steps only
    if kind == "two_invocations":
        assert theirs.user_turns == 1  # the memory was reset: the first turn is gone
        assert theirs.total_tokens == 90 + 6  # the second run's only (the server sent 301 + 96)
    if sent.cached_tokens:
        assert theirs.cached_tokens == 0  # smolagents' TokenUsage has no cached count


ROWS = (
    ("tool calls / results in messages", ("tool_calls", "tool_results")),
    ("total / input / cached tokens", ("total_tokens", "input_tokens", "cached_tokens")),
    ("managed agent's input tokens", ("researcher_input_tokens",)),
    ("delegations", ("delegations",)),
    ("questions kept in get_messages()", ("user_turns",)),
)
LABELS = {
    "single": "ToolCallingAgent",
    "team": "Manager + managed agent",
    "two_invocations": "Two run()s",
}


def table() -> str:
    """The comparison, measured now, as markdown."""
    lines = [
        "| measured | ground truth | MASEval 0.5.1 SmolAgentAdapter | "
        "otel-bridge SmolAgentAdapter |",
        "|---|---|---|---|",
    ]
    with ScriptedLLMServer() as server, Telemetry(frameworks=["smolagents"]) as telemetry:
        for kind, label in LABELS.items():
            measured = compare(kind, server, telemetry)
            for name, fields in ROWS:
                if kind != "team" and fields == ("researcher_input_tokens",):
                    continue
                if kind != "two_invocations" and fields == ("user_turns",):
                    continue
                if kind == "two_invocations" and fields == ("delegations",):
                    continue
                cells = [
                    " / ".join(
                        "not reported" if getattr(m, f) is None else str(getattr(m, f))
                        for f in fields
                    )
                    for m in measured
                ]
                cells = ["not reported" if "not reported" in c else c for c in cells]
                lines.append(f"| {label}: {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
