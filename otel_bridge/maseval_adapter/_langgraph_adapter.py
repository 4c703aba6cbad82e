"""MASEval adapter for LangGraph graphs, its data derived from their OpenTelemetry spans.

The span side (root span, labels, derivation, what MASEval reads) is ``SpanAgentAdapter``'s;
this module invokes a compiled LangGraph graph with the user's message, carries the
conversation from run to run (the message list, or the graph's checkpointer thread), and
describes the graph.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from maseval.core.callback import AgentCallback
from maseval.core.usage import CostCalculator

from ..errors import ConfigError, FrameworkNotInstalled
from ..frameworks import by_name
from ..telemetry import Telemetry
from ._span_adapter import Conversation, SpanAgentAdapter

__all__ = ["LangGraphAgentAdapter"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Carrier:
    """What continues a conversation: the messages so far, or the checkpointer's config."""

    messages: list[Any] = field(default_factory=list)
    config: dict[str, Any] | None = None


@lru_cache(maxsize=1)
def _installed() -> bool:
    """True when LangGraph and its instrumentor can be imported (looked up once)."""
    return by_name("langgraph").installed()


class LangGraphAgentAdapter(SpanAgentAdapter):
    """A MASEval ``AgentAdapter`` for a compiled LangGraph graph, fed by OpenTelemetry spans.

    Works with any graph whose state has ``messages`` (``langchain.agents.create_agent``,
    ``langgraph.prebuilt.create_react_agent``, langgraph-swarm and langgraph-supervisor
    graphs, graphs of one's own). Each ``run()`` invokes the graph with the query as a user
    message, inside a root span of the adapter's Telemetry (see ``SpanAgentAdapter``:
    labels, ``project``, cost, failures); the run's RunTrace is derived from its spans.

    A second ``run()`` continues the conversation: a graph without a checkpointer keeps no
    state, so the adapter hands it the messages of the previous run's result and the new
    query; with a ``config`` naming a ``thread_id`` (MASEval's ``config`` argument) the graph's
    checkpointer keeps them, and the adapter sends the new query only.
    ``reset_conversation()`` starts a new conversation (a new thread id with a checkpointer).

    Arguments beyond MASEval's (``agent_instance``, ``name``, ``callbacks``, ``config``,
    ``cost_calculator``, ``model_id``): ``telemetry``, ``project``, and ``task_id``,
    ``repetition`` and ``metadata``, labels written on every span.
    """

    framework_key = "langgraph"

    def __init__(
        self,
        agent_instance: Any,
        name: str,
        telemetry: Telemetry | None = None,
        callbacks: list[AgentCallback] | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        project: str | None = None,
        task_id: str | None = None,
        repetition: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        cost_calculator: CostCalculator | None = None,
        model_id: str | None = None,
    ) -> None:
        if not _installed():
            raise FrameworkNotInstalled(
                "langgraph is not installed: pip install 'otel-bridge[langgraph]'"
            )
        if not callable(getattr(agent_instance, "invoke", None)):
            raise ConfigError(
                "LangGraphAgentAdapter needs a compiled LangGraph graph (an object with "
                f"invoke()), got {type(agent_instance).__name__}"
            )
        self.langgraph_config: dict[str, Any] = copy.deepcopy(dict(config or {}))
        self._conversations = 0
        super().__init__(
            agent_instance,
            name,
            telemetry,
            callbacks,
            project=project,
            task_id=task_id,
            repetition=repetition,
            metadata=metadata,
            cost_calculator=cost_calculator,
            model_id=model_id,
        )

    def _threaded(self) -> bool:
        """True when the graph keeps the conversation itself (a checkpointer and a thread id)."""
        configurable = self.langgraph_config.get("configurable") or {}
        checkpointer = getattr(self.agent, "checkpointer", None)
        return bool(configurable.get("thread_id")) and checkpointer not in (None, False)

    def _new_state(self) -> _Carrier:
        """An empty message list, or the config of a new checkpointer thread."""
        self._conversations += 1
        if not self._threaded():
            return _Carrier()
        config = copy.deepcopy(self.langgraph_config)
        if self._conversations > 1:  # the caller's thread is the first conversation's
            config["configurable"]["thread_id"] = f"otel-bridge-{uuid.uuid4().hex}"
        return _Carrier(config=config)

    def _call_agent(self, query: str, talk: Conversation) -> Any:
        carrier: _Carrier = talk.state
        message = {"role": "user", "content": query}
        if carrier.config is not None:
            return self.agent.invoke({"messages": [message]}, config=carrier.config)
        config = self.langgraph_config or None
        result = self.agent.invoke({"messages": [*carrier.messages, message]}, config=config)
        messages = result.get("messages") if isinstance(result, Mapping) else None
        if isinstance(messages, list):
            carrier.messages = list(messages)
        return result

    def _answer_text(self, result: Any) -> str:
        """The text of the last message of the graph's result."""
        messages = result.get("messages") if isinstance(result, Mapping) else None
        if not messages:
            return "" if result is None else str(result)
        last = messages[-1]
        content = last.get("content") if isinstance(last, Mapping) else last.content
        if isinstance(content, str):
            return content
        parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content or ()]
        return "".join(parts)

    def _agent_config(self) -> dict[str, Any]:
        """The graph's type, name and nodes."""
        nodes = getattr(self.agent, "nodes", None)
        return {
            "type": type(self.agent).__name__,
            "name": getattr(self.agent, "name", None),
            "nodes": [n for n in nodes if not n.startswith("__")] if nodes else [],
            "checkpointer": self._threaded(),
        }

    def gather_config(self) -> dict[str, Any]:
        """The graph, the LangGraph config's keys, telemetry settings and labels; never raises."""
        return {**super().gather_config(), "config_keys": sorted(self.langgraph_config)}
