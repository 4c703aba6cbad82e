"""LangGraph agents (``langchain.agents.create_agent``, ``langgraph.prebuilt.create_react_agent``,
langgraph-swarm, langgraph-supervisor), as OpenInference's LangChain instrumentor records them.

Every span carries LangChain's run metadata as a JSON ``metadata`` attribute. An agent made
by ``create_agent`` writes its name there (``"lc_agent_name"``) on each span inside it, the
model call included; an agent of ``create_react_agent`` does not, and is named by the graph
node it runs in: the first segment of ``langgraph_checkpoint_ns`` (``researcher:<id>|agent:
<id>``) when it is a subgraph, else the graph's outermost span's name (the compiled graph's
name, unless it is LangGraph's default). One turn
of an agent is its ``model`` (``create_agent``) or ``agent`` (``create_react_agent``) node.

A tool span records the argument itself when the tool takes one, and LangChain's
``ToolMessage`` as its output (content and ``tool_call_id`` inside). Handoff tools (swarm's
and supervisor's ``transfer_to_<agent>``) carry ``"__handoff_destination"`` in their metadata
and return a ``Command`` (``{"graph": "__parent__", "update": ..., "goto": ...}``); a node
returning ``Command(goto=<agent>)`` passes control too, and so does the supervisor's
``call_agent`` when the agent's output ends with its ``transfer_back_to_<supervisor>`` turn.
Reading metadata on every span is costly: each reader looks for its substring first.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from openinference.semconv.trace import SpanAttributes

from ..conventions import Message, ToolFacts, ValueNotes, json_value
from ..run_trace import ToolCall
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer

__all__ = ["LANGGRAPH", "LangGraph"]

_METADATA = SpanAttributes.METADATA
_INPUT = SpanAttributes.INPUT_VALUE
_OUTPUT = SpanAttributes.OUTPUT_VALUE
ROOT_NAME = "LangGraph"  # the span of a graph compiled without a name
AGENT_MARK = '"lc_agent_name": "'
NODE_MARK = '"langgraph_node": "'
NAMESPACE_MARK = '"langgraph_checkpoint_ns": "'
DESTINATION_MARK = '"__handoff_destination": "'
INTEGRATION_MARK = '"ls_integration": "langgraph"'
TURN_NODES = ("model", "agent")  # create_agent's model node, create_react_agent's agent node
TOOLS_NODE = "tools"
CALL_AGENT = "call_agent"  # langgraph-supervisor's node around one agent's activation
TRANSFER_PREFIX = "transfer_to_"
TRANSFER_BACK = "transfer_back_to_"
GOTO_MARK = '"goto": "'
TOOL_MESSAGE = '{"type": "tool", "data": '  # LangChain's ToolMessage, as JSON
COMMAND = '{"graph":'  # LangGraph's Command, as JSON (spaced or compact)
_DECODER = json.JSONDecoder()


class LangGraph(Framework):
    """LangGraph's agents and multi-agent graphs, as OpenInference's LangChain instrumentor
    records them."""

    name = "langgraph"
    instrumentation = Instrumentation(
        instrumentor="openinference.instrumentation.langchain:LangChainInstrumentor",
        requires=("langgraph", "langchain_core"),
        extra="langgraph",
    )
    scopes = (
        "openinference.instrumentation.langchain",
        "opentelemetry.instrumentation.genai.langchain",
        "opentelemetry.instrumentation.langchain",
    )

    def recognizes(self, span: SpanRecord) -> bool:
        """By scope, else by LangGraph's run metadata."""
        if super().recognizes(span):
            return True
        raw = span.attributes.get(_METADATA)
        return isinstance(raw, str) and ('"langgraph_' in raw or INTEGRATION_MARK in raw)

    def step_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """An agent's ``model`` / ``agent`` node span: one turn of it."""
        raw = span.attributes.get(_METADATA)
        if not isinstance(raw, str):
            return None
        node = _field(raw, NODE_MARK)
        if node not in TURN_NODES:
            return None
        # A span inside the node (its model call, a prompt) is not the turn; an exported turn
        # is named after its agent (``researcher.model``).
        if span.name != node and not span.name.endswith(f".{node}"):
            return None
        return _agent(raw)

    def span_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """``lc_agent_name``, else the agent subgraph's node, else a named graph's root."""
        raw = span.attributes.get(_METADATA)
        if not isinstance(raw, str):
            return None
        found = _agent(raw)
        if found is not None or span.name == ROOT_NAME:
            return found
        if NODE_MARK not in raw and INTEGRATION_MARK in raw:
            return span.name  # the outermost span of a graph named after its agent
        return None

    def step_tool_call_id(self, span: SpanRecord) -> str | None:
        """The id of the one tool call a ``tools`` node runs (a list of one, or with context)."""
        if span.name != TOOLS_NODE:
            return None
        raw = span.attributes.get(_INPUT)
        if not isinstance(raw, str) or '"id": "' not in raw:
            return None
        value, parsed = json_value(raw, _INPUT, None, text_ok=True)
        if not parsed:
            return None
        if isinstance(value, dict):
            value = [value.get("tool_call")]
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            found = value[0].get("id")
            return found if isinstance(found, str) and found else None
        return None

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """The content and ``tool_call_id`` of the ``ToolMessage`` (or the handoff ``Command``)
        the tool returned."""
        if not self.recognizes(span):
            return facts
        if facts.arguments is None and _INPUT not in span.attributes:
            facts = replace(facts, arguments={})  # a tool without arguments records no input
        output = facts.output
        if output is None or not output.startswith('{"'):
            return facts
        if output.startswith(TOOL_MESSAGE):
            note = notes.for_span(span) if notes is not None else None
            value, parsed = json_value(output, _OUTPUT, note, text_ok=True)
            message = value.get("data") if parsed and isinstance(value, dict) else None
        elif output.startswith(COMMAND):
            message = _command_tool_message(output)
        else:
            return facts
        if not isinstance(message, dict):
            return facts
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        call_id = message.get("tool_call_id")
        failed = message.get("status") == "error"
        return replace(
            facts,
            output=text,
            tool_call_id=facts.tool_call_id or (call_id if isinstance(call_id, str) else None),
            error=facts.error or (text if failed else None),
        )

    def refine_messages(self, span: SpanRecord, messages: list[Message]) -> list[Message]:
        """Assistant messages with LangChain's ``name`` (the agent's, on re-sent turns only) as
        their ``agent``: a re-sent turn is the same message as the answer it repeats, and a
        turn written by the graph (the supervisor's transfer back) keeps its author."""
        if not self.recognizes(span) or not any(
            m.get("role") == "assistant" and "name" in m for m in messages
        ):
            return messages
        return [_authored(m) if m.get("role") == "assistant" else m for m in messages]

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """A handoff tool (``__handoff_destination``, else ``transfer_to_<agent>``)."""
        raw = span.attributes.get(_METADATA)
        if isinstance(raw, str) and DESTINATION_MARK in raw:
            found = _field(raw, DESTINATION_MARK)
            if found:
                return Transfer(to_agent=found, reason=None)
        if tool.name.startswith(TRANSFER_PREFIX) and span.scope.startswith(self.scopes):
            return Transfer(to_agent=tool.name[len(TRANSFER_PREFIX) :] or None, reason=None)
        output = span.attributes.get(_OUTPUT)
        if isinstance(output, str) and output.startswith(COMMAND) and GOTO_MARK in output:
            # A tool of one's own returning Command(goto=<agent>, graph=Command.PARENT).
            goto = _field(output[output.rfind(GOTO_MARK) :], GOTO_MARK)
            return Transfer(to_agent=goto, reason=None) if goto else None
        return None

    def node_transfer(self, span: SpanRecord, notes: ValueNotes | None) -> Transfer | None:
        """A node that passes control without a tool: ``Command(goto=<node>)``, or the
        supervisor's ``call_agent`` whose output ends with ``transfer_back_to_<supervisor>``."""
        output = span.attributes.get(_OUTPUT)
        if not isinstance(output, str) or not output.startswith(("{", "[")):
            return None
        if not self.recognizes(span):
            return None
        if span.name == CALL_AGENT and TRANSFER_BACK in output:
            at = output.rfind(TRANSFER_BACK) + len(TRANSFER_BACK)
            end = output.find('"', at)
            if end <= at:
                return None
            to_agent = output[at:end]
            return Transfer(to_agent, None, _transfer_back_id(output, TRANSFER_BACK + to_agent))
        if output.startswith('{"graph": null') and GOTO_MARK in output:
            value, parsed = json_value(output, _OUTPUT, None, text_ok=True)
            goto = value.get("goto") if parsed and isinstance(value, dict) else None
            return Transfer(to_agent=goto, reason=None) if isinstance(goto, str) and goto else None
        return None


LANGGRAPH = LangGraph()


def _transfer_back_id(output: str, tool_name: str) -> str | None:
    """The id langgraph-supervisor gave the ``transfer_back_to_<supervisor>`` call it wrote
    into the agent's messages (the last such call of the node's output)."""
    value, parsed = json_value(output, _OUTPUT, None, text_ok=True)
    messages = value.get("messages") if parsed and isinstance(value, dict) else None
    found = None
    for message in messages if isinstance(messages, list) else ():
        data = message.get("data") if isinstance(message, dict) else None
        calls = data.get("tool_calls") if isinstance(data, dict) else None
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict) and call.get("name") == tool_name:
                found = call.get("id") if isinstance(call.get("id"), str) else None
    return found


def _authored(message: Message) -> Message:
    """The message with its ``name`` as its ``agent``."""
    if "name" not in message:
        return message
    out = {k: v for k, v in message.items() if k != "name"}
    out["agent"] = message["name"]
    return out


def _field(raw: str, mark: str) -> str | None:
    """The JSON string value after ``mark`` in the metadata text (unescaped when needed)."""
    at = raw.find(mark)
    if at < 0:
        return None
    start = at + len(mark)
    end = raw.find('"', start)
    if end < 0:
        return None
    value = raw[start:end]
    if value.endswith("\\") or "\\" in value:  # an escaped character: read it as JSON does
        try:
            metadata = json.loads(raw)
        except ValueError:
            return None
        found = metadata.get(mark.split('"')[1]) if isinstance(metadata, dict) else None
        return found if isinstance(found, str) else None
    return value


def _agent(raw: str) -> str | None:
    """``lc_agent_name``, else the agent subgraph that the span's checkpoint namespace names."""
    if AGENT_MARK in raw:
        return _field(raw, AGENT_MARK)
    namespace = _field(raw, NAMESPACE_MARK)
    if namespace is None or "|" not in namespace:
        return None
    node = namespace.partition(":")[0]
    return node or None


def _command_tool_message(output: str) -> dict[str, Any] | None:
    """The data of the last ``ToolMessage`` in a ``Command``'s update (the handoff tool's own
    result), read alone: the update also carries the whole history, which is not parsed."""
    at = output.rfind(TOOL_MESSAGE)
    if at < 0:
        return _compact_command_tool_message(output)
    try:
        value, _ = _DECODER.raw_decode(output, at)
    except ValueError:
        return None
    data = value.get("data") if isinstance(value, dict) else None
    return data if isinstance(data, dict) else None


def _compact_command_tool_message(output: str) -> dict[str, Any] | None:
    """The last tool message of a ``Command`` as OpenTelemetry's GenAI instrumentation writes it
    (compact JSON, each message's fields at its top level)."""
    try:
        value = json.loads(output)
    except ValueError:
        return None
    update = value.get("update") if isinstance(value, dict) else None
    messages = update.get("messages") if isinstance(update, dict) else None
    found: list[Any] = messages if isinstance(messages, list) else []
    for message in reversed(found):
        if isinstance(message, dict) and message.get("type") == "tool":
            return message
    return None
