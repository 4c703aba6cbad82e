"""Delegations: an agent run as a tool by another, control returning to the caller.

Live: a LlamaIndex ``manager`` whose tool runs a ``researcher`` FunctionAgent, against the
scripted model. Every figure is checked against what the scripted server was sent and sent.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from rich.console import Console
from support.runs import traced_run

from otel_bridge import RunTrace, Telemetry, to_tables
from otel_bridge.report import run_html, trace_panel
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)

TASK = "Find the year OpenTelemetry was founded."
FACT = "OpenTelemetry was founded in 2019."


def manager_and_researcher(server: ScriptedLLMServer) -> Any:
    server.set_script(
        ConversationRouter(
            {
                "[manager]": [
                    Reply(
                        tool_calls=[ToolCallSpec("ask_researcher", {"question": TASK})],
                        usage=Usage(100, 10),
                    ),
                    Reply(content=f"Answer: {FACT}", usage=Usage(150, 12)),
                ],
                "[researcher]": [Reply(content=FACT, usage=Usage(60, 8))],
            }
        )
    )
    researcher = FunctionAgent(
        name="researcher",
        system_prompt="[researcher] You find facts.",
        llm=scripted_openai_llm(server, include_usage=True),
    )

    async def ask_researcher(question: str) -> str:
        """Ask the researcher agent a question."""
        return str(await researcher.run(user_msg=question))

    manager = FunctionAgent(
        name="manager",
        system_prompt="[manager] You delegate research.",
        tools=[ask_researcher],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    return lambda: manager.run(user_msg="When was OpenTelemetry founded?")


async def delegated_run(llm: ScriptedLLMServer, telemetry: Telemetry) -> RunTrace:
    _, trace = await traced_run(telemetry, manager_and_researcher(llm))
    return trace


async def test_an_agent_run_inside_a_tool_is_a_delegation(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    trace = await delegated_run(llm, telemetry)
    assert [d.to_dict() | {"at": None} for d in trace.delegations] == [
        {
            "from": "manager",
            "to": "researcher",
            "task": TASK,
            "at": None,
            "tool_call_id": trace.tool_calls[0].tool_call_id,
        }
    ]
    assert trace.tool_calls[0].tool_call_id  # the manager's call of the tool, by its id
    assert trace.handoffs == []
    # Tokens per agent, as the scripted server sent them.
    assert trace.agents["manager"].usage.input_tokens == 250
    assert trace.agents["researcher"].usage.input_tokens == 60
    assert trace.usage.input_tokens == llm.usage_sent_total().prompt == 310
    assert trace.labels["framework"] == "llama_index"
    assert trace.output == f"Answer: {FACT}"


async def test_delegations_reach_tables_report_and_summary(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    trace = await delegated_run(llm, telemetry)
    tables = to_tables([trace])
    (row,) = tables["delegations"]
    assert (row["from_agent"], row["to_agent"], row["task"], row["framework"]) == (
        "manager",
        "researcher",
        TASK,
        "llama_index",
    )
    assert tables["runs"][0]["delegations"] == 1
    page = run_html(trace)
    assert 'class="edge delegation" data-delegation="1"' in page
    assert "manager delegated to researcher (control returns)" in page
    console = Console(width=80, record=True, force_terminal=False)
    console.print(trace_panel(trace))
    assert f"delegated manager → researcher: {TASK[:39]}" in console.export_text()
