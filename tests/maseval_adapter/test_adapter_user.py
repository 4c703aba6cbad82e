"""LlamaIndexUser: a real maseval user simulator asked through a real LlamaIndex tool."""

from __future__ import annotations

import json

import openai
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from maseval import LLMUser
from maseval.interface.inference.openai import OpenAIModelAdapter
from support.adapter_fixtures import module_telemetry, scripted_server

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter, LlamaIndexUser
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    scripted_openai_llm,
)

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

QUESTION = "For how many people?"
SCENARIO = "USER-SIM: a guest who wants a table for four tonight."  # routes the simulator


def _user(server: ScriptedLLMServer) -> LlamaIndexUser:
    client = openai.OpenAI(base_url=server.base_url, api_key="fake", max_retries=0)
    return LlamaIndexUser(
        name="guest",
        model=OpenAIModelAdapter(client, model_id="gpt-4o-mini"),
        user_profile={"party": 4},
        scenario=SCENARIO,
        initial_query="Book a table for tonight.",
        max_turns=3,
    )


def test_get_tool_is_a_llamaindex_function_tool_named_ask_user(
    scripted_server: ScriptedLLMServer,
) -> None:
    user = _user(scripted_server)
    tool = user.get_tool()
    assert isinstance(user, LLMUser) and isinstance(tool, FunctionTool)
    assert tool.metadata.name == "ask_user"
    assert "question" in tool.metadata.description.lower()
    assert user.gather_config()["scenario"].startswith("USER-SIM")


def test_questions_and_answers_appear_in_the_derived_messages(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    scripted_server.set_script(
        ConversationRouter(
            {
                "Book a table": [
                    Reply(tool_calls=[ToolCallSpec("ask_user", {"question": QUESTION})]),
                    Reply(content="Booked a table for four."),
                ],
                SCENARIO: [Reply(content=json.dumps({"text": "Four people."}))],
            }
        )
    )
    user = _user(scripted_server)
    agent = FunctionAgent(
        name="host",
        system_prompt="You book tables. Ask the user what you need to know.",
        tools=[user.get_tool()],
        llm=scripted_openai_llm(scripted_server),
    )
    adapter = LlamaIndexAgentAdapter(agent, "host", module_telemetry)
    assert adapter.run(user.get_initial_query()) == "Booked a table for four."

    messages = adapter.get_messages().to_list()
    call = next(m for m in messages if m.get("tool_calls"))
    (tool_call,) = call["tool_calls"]
    assert tool_call["function"]["name"] == "ask_user"
    assert json.loads(tool_call["function"]["arguments"]) == {"question": QUESTION}
    answer = next(m for m in messages if m["role"] == "tool")
    assert answer["name"] == "ask_user" and answer["content"] == "Four people."
    assert answer["tool_call_id"] == tool_call["id"]

    assert [(m["role"], m["content"]) for m in user.messages][1:] == [
        ("assistant", QUESTION),
        ("user", "Four people."),
    ]
    run = adapter.last_run
    assert run is not None and len(run.llm_calls) == 2  # the user simulator is not the agent
    assert [t.name for t in run.tool_calls] == ["ask_user"]


def test_questions_of_one_turn_are_answered_one_at_a_time(
    scripted_server: ScriptedLLMServer,
) -> None:
    """LlamaIndex runs the tool calls of one turn concurrently; respond() must not overlap."""
    import asyncio
    import threading
    import time

    user = _user(scripted_server)
    inside, most = 0, 0
    lock = threading.Lock()

    def respond(question: str) -> str:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        return f"answer to {question}"

    user.respond = respond
    tool = user.get_tool()

    async def both() -> list[str]:
        outputs = await asyncio.gather(tool.acall(question="a"), tool.acall(question="b"))
        return [str(o) for o in outputs]

    assert asyncio.run(both()) == ["answer to a", "answer to b"]
    assert most == 1
