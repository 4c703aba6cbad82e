"""MASEval adapter for the OpenAI Agents SDK, its data derived from OpenTelemetry spans.

MASEval has no adapter of its own for this SDK; this one has the surface of the others
(``SpanAgentAdapter``). A run is ``Runner.run(agent, input)`` on the shared background event
loop; the conversation is carried on as the SDK's own input list (``result.to_input_list()``),
continued by the agent that answered last (after a handoff, the agent handed to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maseval.core.callback import AgentCallback
from maseval.core.usage import CostCalculator

from ..errors import ConfigError, FrameworkNotInstalled
from ..telemetry import Telemetry
from ._background_loop import run_sync
from ._span_adapter import Conversation, SpanAgentAdapter

__all__ = ["OpenAIAgentsAdapter"]

EXTRA = "otel-bridge[openai-agents]"


class OpenAIAgentsAdapter(SpanAgentAdapter):
    """A MASEval ``AgentAdapter`` for an OpenAI Agents SDK ``Agent`` (handoffs and agents used
    as tools included), fed by OpenTelemetry spans.

    Arguments beyond ``SpanAgentAdapter``'s: ``max_turns`` for ``Runner.run`` and
    ``run_kwargs``, more keyword arguments for it (``context``, ``run_config``, ...).
    """

    framework_key = "openai_agents"

    def __init__(
        self,
        agent_instance: Any,
        name: str,
        telemetry: Telemetry | None = None,
        callbacks: list[AgentCallback] | None = None,
        *,
        project: str | None = None,
        max_turns: int | None = None,
        task_id: str | None = None,
        repetition: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        run_kwargs: Mapping[str, Any] | None = None,
        cost_calculator: CostCalculator | None = None,
        model_id: str | None = None,
    ) -> None:
        agent_class = _agent_class()
        if not isinstance(agent_instance, agent_class):
            raise ConfigError(
                f"OpenAIAgentsAdapter needs an agents.Agent, got {type(agent_instance).__name__}"
            )
        self.max_turns = max_turns
        self.run_kwargs = dict(run_kwargs or {})
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

    def _call_agent(self, query: str, talk: Conversation) -> Any:
        from agents import Runner

        if not isinstance(query, str) or not query.strip():
            raise ConfigError("the query is empty: the agent needs a question")
        history: list[Any] = list(talk.state or [])
        given: Any = [*history, {"role": "user", "content": query}] if history else query
        agent = talk.memory if talk.memory is not None else self.agent
        kwargs = dict(self.run_kwargs)
        if self.max_turns is not None:
            kwargs["max_turns"] = self.max_turns

        async def run() -> Any:
            return await Runner.run(agent, given, **kwargs)

        result = run_sync(run)
        talk.state = result.to_input_list()
        talk.memory = result.last_agent  # who answered last carries the conversation on
        return result

    def _answer_text(self, result: Any) -> str:
        output = getattr(result, "final_output", result)
        return "" if output is None else str(output)

    def _silence_hint(self) -> str:
        return (
            "Is the SDK's tracing disabled (agents.set_tracing_disabled(True), "
            "OPENAI_AGENTS_DISABLE_TRACING=1 or RunConfig(tracing_disabled=True))? "
            "otel-bridge reads the SDK's trace."
        )

    def _agent_config(self) -> dict[str, Any]:
        return _describe(self.agent, set())

    def _agent_model(self) -> str | None:
        return _model_name(getattr(self.agent, "model", None))


def _agent_class() -> type:
    try:
        from agents import Agent
    except ImportError as exc:
        raise FrameworkNotInstalled(
            f"the OpenAI Agents SDK is not installed: pip install '{EXTRA}'"
        ) from exc
    return Agent


def _describe(agent: Any, seen: set[int]) -> dict[str, Any]:
    """An agent, its tools, handoffs and model, as JSON (each agent described once)."""
    seen.add(id(agent))
    handoffs = [getattr(h, "agent_name", None) or getattr(h, "name", None) for h in agent.handoffs]
    described: dict[str, Any] = {
        "name": agent.name,
        "instructions": agent.instructions if isinstance(agent.instructions, str) else None,
        "model": _model_name(agent.model),
        "tools": [getattr(t, "name", type(t).__name__) for t in agent.tools],
        "handoffs": [str(h) for h in handoffs if h],
        "handoff_agents": [
            _describe(h, seen)
            for h in agent.handoffs
            if hasattr(h, "handoffs") and id(h) not in seen
        ],
    }
    return described


def _model_name(model: Any) -> str | None:
    if model is None or isinstance(model, str):
        return model
    name = getattr(model, "model", None)
    return name if isinstance(name, str) else type(model).__name__
