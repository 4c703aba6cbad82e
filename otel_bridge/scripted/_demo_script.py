"""The built-in demo run: a researcher hands off to a writer, scripted for the scripted LLM.

``demo_script()`` returns everything a two-agent ``AgentWorkflow`` needs to run against
``ScriptedLLMServer`` without a real model: the user message, both system prompts, the four
scripted assistant turns (researcher: ``search`` then ``handoff``; writer: ``word_count`` then
the answer) and a ready ``AgentWorkflow`` builder, with the demo's own offline tools
(``demo_search``, ``demo_word_count``) unless the caller brings others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._server import ConversationRouter, Reply, ToolCallSpec, Usage

if TYPE_CHECKING:
    from llama_index.core.agent.workflow import AgentWorkflow
    from llama_index.core.llms import LLM

__all__ = ["DemoScript", "demo_script", "demo_search", "demo_word_count"]

_USER_MSG = "Write a two-sentence brief on how OpenTelemetry traces LLM agents."
_RESEARCHER_PROMPT = (
    "You are the researcher. Search for facts with the search tool, then hand off to the "
    "writer with the handoff tool."
)
_WRITER_PROMPT = (
    "You are the writer. Turn the notes in the conversation into a short brief; check its "
    "length with the word_count tool before you answer."
)
_QUERY = "OpenTelemetry semantic conventions for LLM agents"
_DRAFT = (
    "OpenTelemetry records every LLM call and tool call of an agent as a span. "
    "Token counts, timings and handoffs can then be derived from the trace."
)
_NOTES = (
    "OpenTelemetry records each LLM call and each tool call of an agent as a span. "
    "OpenInference and the GenAI semantic conventions name the attributes: messages, "
    "token counts, model and tool names. A trace of spans gives timings per agent and shows "
    "where one agent hands the conversation to another."
)


def demo_search(query: str) -> str:
    """Search the research notes (a fixed page of notes, so the demo needs no network)."""
    return f"Notes on {query}: {_NOTES}"


def demo_word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


@dataclass(frozen=True, slots=True)
class DemoScript:
    """The demo run: its prompts, its scripted replies and the answer it must end with."""

    user_msg: str
    researcher_prompt: str
    writer_prompt: str
    query: str
    replies: tuple[Reply, ...]
    answer: str

    def router(self) -> ConversationRouter:
        """A router that serves this run (and any number of concurrent copies of it)."""
        return ConversationRouter({self.user_msg: self.replies})

    def workflow(
        self,
        llm: LLM,
        *,
        search: Callable[..., Any] = demo_search,
        word_count: Callable[..., Any] = demo_word_count,
    ) -> AgentWorkflow:
        """The researcher -> writer ``AgentWorkflow`` of FunctionAgents, with these tools.

        ``search(query: str)`` and ``word_count(text: str)`` may be sync or async functions.
        """
        from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
        from llama_index.core.tools import FunctionTool

        researcher = FunctionAgent(
            name="researcher",
            description="Finds facts with the search tool.",
            system_prompt=self.researcher_prompt,
            tools=[FunctionTool.from_defaults(fn=search, name="search")],
            llm=llm,
            can_handoff_to=["writer"],
        )
        writer = FunctionAgent(
            name="writer",
            description="Writes the final brief from the research notes.",
            system_prompt=self.writer_prompt,
            tools=[FunctionTool.from_defaults(fn=word_count, name="word_count")],
            llm=llm,
            can_handoff_to=[],
        )
        return AgentWorkflow(agents=[researcher, writer], root_agent="researcher")


def demo_script() -> DemoScript:
    """The researcher -> writer demo: search, handoff, word_count, answer."""
    researcher = "You are the researcher."
    writer = "You are the writer."
    replies = (
        Reply(
            agent=researcher,
            tool_calls=[ToolCallSpec("search", {"query": _QUERY})],
            usage=Usage(prompt=412, completion=21, cached=0),
        ),
        Reply(
            agent=researcher,
            tool_calls=[
                ToolCallSpec(
                    "handoff",
                    {"to_agent": "writer", "reason": "The research notes are ready."},
                )
            ],
            usage=Usage(prompt=538, completion=27, cached=384),
        ),
        Reply(
            agent=writer,
            tool_calls=[ToolCallSpec("word_count", {"text": _DRAFT})],
            usage=Usage(prompt=601, completion=44, cached=0),
        ),
        Reply(agent=writer, content=_DRAFT, usage=Usage(prompt=689, completion=31, cached=512)),
    )
    return DemoScript(
        user_msg=_USER_MSG,
        researcher_prompt=_RESEARCHER_PROMPT,
        writer_prompt=_WRITER_PROMPT,
        query=_QUERY,
        replies=replies,
        answer=_DRAFT,
    )
