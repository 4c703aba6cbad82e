"""``SmolAgentAdapter``: MASEval's AgentAdapter contract (as
tests/maseval_adapter/test_maseval_contract.py runs it
for LlamaIndex) and what the adapter adds, on real smolagents agents against the scripted model.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from maseval import AgentAdapter, MessageHistory
from maseval.core.callback import AgentCallback
from support import smol_scenarios as sc
from support.adapter_fixtures import module_telemetry, scripted_server

from otel_bridge import Telemetry
from otel_bridge.errors import ConfigError
from otel_bridge.maseval_adapter import SmolAgentAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

Make = Callable[..., SmolAgentAdapter]
RESEARCHER = "named 'researcher'"  # in the managed agent's first user message


def search_call(usage: Usage) -> Reply:
    return Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=usage)


def router() -> ConversationRouter:
    """Single-agent and team conversations by their first user message; reply N after N turns."""
    single = [search_call(Usage(100, 10)), sc.answer("First answer", Usage(120, 5))]
    team = [
        Reply(tool_calls=[ToolCallSpec("researcher", {"task": "look it up"})], usage=Usage(90, 9)),
        sc.answer("Team answer", Usage(130, 6)),
    ]
    return ConversationRouter(
        {
            "Test query": single,
            "First query": [*single, sc.answer("Second response", Usage(150, 5))],
            "Team query": team,
            "Team first": [*team, sc.answer("Team second", Usage(170, 4))],
            RESEARCHER: [search_call(Usage(50, 5)), sc.answer("found", Usage(60, 5))],
        }
    )


@pytest.fixture(params=["single", "team"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(kind: str, scripted_server: ScriptedLLMServer, module_telemetry: Telemetry) -> Make:
    """Build an adapter around a fresh real agent (single, or a manager with a managed agent)."""
    scripted_server.set_script(router())

    def build(callbacks: list[AgentCallback] | None = None, **options: Any) -> SmolAgentAdapter:
        agent = sc.agent(scripted_server) if kind == "single" else sc.team(scripted_server)
        return SmolAgentAdapter(agent, "test_agent", module_telemetry, callbacks, **options)

    return build


def query(kind: str, which: str) -> str:
    return (
        f"{which} query"
        if kind == "single"
        else {"Test": "Team query", "First": "Team first"}[which]
    )


class Tracker(AgentCallback):
    """Records callback events, and the message count each one saw."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_run_start(self, agent: AgentAdapter) -> None:
        self.events.append(("start", len(agent.get_messages())))

    def on_run_end(self, agent: AgentAdapter, result: Any) -> None:
        self.events.append(("end", (len(agent.get_messages()), result)))


# ----------------------------------------------------------------------------- the contract


def test_is_a_maseval_agent_adapter(make: Make) -> None:
    adapter = make()
    assert isinstance(adapter, AgentAdapter)
    assert isinstance(adapter.get_messages(), MessageHistory)
    assert len(adapter.get_messages()) == 0


def test_run_returns_a_string_in_openai_format_messages(make: Make, kind: str) -> None:
    adapter = make()
    result = adapter.run(query(kind, "Test"))
    assert result == ("First answer" if kind == "single" else "Team answer")
    history = adapter.get_messages()
    assert history[0]["role"] == "system" and history[1]["role"] == "user"
    for message in history:
        assert "role" in message and "content" in message, message
        assert message["role"] in {"user", "assistant", "system", "tool"}
    calls = [c for m in history for c in m.get("tool_calls", ())]
    results = {m["tool_call_id"] for m in history if m["role"] == "tool"}
    assert calls and {c["id"] for c in calls} == results  # every call has its result


def test_callbacks_fire_in_order_with_state(make: Make, kind: str) -> None:
    tracker = Tracker()
    adapter = make(callbacks=[tracker])
    result = adapter.run(query(kind, "Test"))
    assert [e[0] for e in tracker.events] == ["start", "end"]
    assert tracker.events[0][1] == 0
    count_at_end, passed = tracker.events[1][1]
    assert count_at_end > 0 and passed == result


def test_traces_and_config_are_json_with_iso_timestamps(make: Make, kind: str) -> None:
    adapter = make()
    config_before = adapter.gather_config()
    adapter.run(query(kind, "Test"))
    traces = adapter.gather_traces()
    config_after = adapter.gather_config()
    for data in (traces, config_before, config_after):
        json.dumps(data)
        datetime.fromisoformat(data["gathered_at"])
    assert traces["message_count"] == len(traces["messages"]) > 0
    assert {"type", "name", "agent_type", "callbacks", "logs"} <= traces.keys()
    assert {"type", "name", "agent_type", "adapter_type", "callbacks"} <= config_after.keys()
    config_before.pop("gathered_at")
    config_after.pop("gathered_at")
    assert config_before == config_after
    described = config_after["smolagents"]
    assert described["type"] == "ToolCallingAgent" and described["model"] == sc.MODEL
    if kind == "team":
        assert described["name"] == "manager"
        assert described["managed_agents"]["researcher"]["tools"] == ["final_answer", "search"]


def test_logs_grow_per_run_and_history_accumulates(make: Make, kind: str) -> None:
    adapter = make()
    adapter.run(query(kind, "First"))
    first = adapter.get_messages().to_list()
    adapter.run("Second query")
    second = adapter.get_messages().to_list()
    assert len(adapter.logs) == 2 and adapter.gather_traces()["logs"] == adapter.logs
    assert second[: len(first)] == first  # the conversation continued
    asked = [m["content"] for m in second if m["role"] == "user" and m["agent"] != "researcher"]
    assert asked == [f"New task:\n{query(kind, 'First')}", "New task:\nSecond query"]
    # both runs' tool calls survive, each with its result
    calls = [c["id"] for m in second for c in m.get("tool_calls", ())]
    assert len(calls) == (3 if kind == "single" else 5)
    assert {m["tool_call_id"] for m in second if m["role"] == "tool"} == set(calls)


# ----------------------------------------------------------------------------- the adapter


def test_usage_and_delegations_are_exact(
    make: Make, kind: str, scripted_server: ScriptedLLMServer
) -> None:
    scripted_server.clear_log()
    adapter = make()
    adapter.run(query(kind, "Test"))
    sent_in = sum(e.usage_sent.prompt for e in scripted_server.log if e.usage_sent)
    sent_out = sum(e.usage_sent.completion for e in scripted_server.log if e.usage_sent)
    usage = adapter.gather_usage()
    assert (usage.input_tokens, usage.output_tokens) == (sent_in, sent_out)
    assert (sent_in, sent_out) == ((220, 15) if kind == "single" else (330, 25))
    traces = adapter.gather_traces()
    if kind == "single":
        assert traces["delegations"] == [] and list(traces["agents"]) == ["assistant"]
        return
    manager_call = scripted_server.log[0].tool_call_ids[0]
    (delegation,) = traces["delegations"]
    assert (delegation["from"], delegation["to"], delegation["task"]) == (
        "manager",
        "researcher",
        "look it up",
    )
    assert delegation["tool_call_id"] == manager_call
    agents = traces["agents"]
    assert agents["manager"]["usage"]["input_tokens"] == 90 + 130
    assert agents["researcher"]["usage"]["input_tokens"] == 50 + 60


def test_labels_last_run_and_reset(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    scripted_server.set_script(router())
    adapter = SmolAgentAdapter(
        sc.agent(scripted_server), "smol", module_telemetry, task_id="t7", repetition=2
    )
    assert adapter.last_run is None
    adapter.run("First query")
    run = adapter.last_run
    assert run is not None and run.output == "First answer"
    assert run.labels == {
        "session_id": adapter.session_id,
        "task_id": "t7",
        "repetition": 2,
        "framework": "smolagents",
    }
    first_session = adapter.session_id
    adapter.reset_conversation()
    assert adapter.run("Test query") == "First answer"  # a fresh memory: the script restarts
    assert adapter.session_id != first_session
    assert [m["content"] for m in adapter.get_messages() if m["role"] == "user"] == [
        "New task:\nTest query"
    ]


async def test_run_inside_a_running_event_loop(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    scripted_server.set_script(router())
    adapter = SmolAgentAdapter(sc.agent(scripted_server), "smol", module_telemetry)
    assert asyncio.get_running_loop().is_running()
    assert adapter.run("Test query") == "First answer"
    assert adapter.last_run is not None and len(adapter.last_run.llm_calls) == 2


def test_a_telemetry_without_smolagents_is_refused(scripted_server: ScriptedLLMServer) -> None:
    with (
        Telemetry(frameworks=["llama_index"]) as telemetry,
        pytest.raises(ConfigError, match="does not capture smolagents"),
    ):
        SmolAgentAdapter(sc.agent(scripted_server), "smol", telemetry)


def test_rejects_objects_that_are_not_agents(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    with pytest.raises(ConfigError, match="needs a smolagents agent"):
        SmolAgentAdapter(object(), "smol", module_telemetry)
    with pytest.raises(ValueError, match=r"run_kwargs may not set \['reset'\]"):
        SmolAgentAdapter(sc.agent(scripted_server), "s", module_telemetry, run_kwargs={"reset": 1})


def test_without_smolagents_the_adapter_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['smolagents'] = None  # as if not installed\n"
        "from otel_bridge.maseval_adapter import SmolAgentAdapter\n"
        "try:\n"
        "    SmolAgentAdapter(object(), 'smol')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "FrameworkNotInstalled smolagents is not installed: pip install 'otel-bridge[smolagents]'"
    )


@pytest.fixture
def project_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_BRIDGE_PROJECT", raising=False)
    monkeypatch.delenv("PHOENIX_PROJECT_NAME", raising=False)
    yield


def test_project_shares_that_projects_telemetry(
    scripted_server: ScriptedLLMServer, project_env: None
) -> None:
    from otel_bridge.maseval_adapter import project_telemetry

    scripted_server.set_script(router())
    adapter = SmolAgentAdapter(sc.agent(scripted_server), "smol", project="smol-bench")
    assert adapter.telemetry is project_telemetry("smol-bench")
    assert adapter.run("Test query") == "First answer"
    assert adapter.last_run is not None and adapter.last_run.labels["framework"] == "smolagents"
