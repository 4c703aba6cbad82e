"""MASEval adapter for smolagents agents, its data derived from their OpenTelemetry spans.

The span side (root span, labels, derivation, what MASEval reads) is ``SpanAgentAdapter``'s;
this module runs a smolagents agent (``agent.run(task, reset=...)``: the first run of a
conversation starts the agent's memory afresh, later ones continue it) and describes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maseval.core.callback import AgentCallback
from maseval.core.usage import CostCalculator

from ..errors import ConfigError, FrameworkNotInstalled
from ..telemetry import Telemetry
from ._span_adapter import Conversation, SpanAgentAdapter

__all__ = ["SmolAgentAdapter"]

FRAMEWORK = "smolagents"
EXTRA = "smolagents"


@dataclass(slots=True)
class _Memory:
    """Whether the agent's memory already holds this conversation (then it is continued)."""

    started: bool = False


class SmolAgentAdapter(SpanAgentAdapter):
    """A MASEval ``AgentAdapter`` for smolagents agents, fed by OpenTelemetry spans.

    Works with ``ToolCallingAgent`` and ``CodeAgent`` (anything with smolagents'
    ``run(task, reset=...)``), with or without managed agents: a managed agent's run is a
    delegation of its manager, and its calls and tokens are its own. Every ``run()`` opens a root
    span on ``telemetry`` (default: ``default_telemetry()``, in memory, or with ``project``,
    ``project_telemetry(project)``) labelled with ``session.id`` and ``metadata``; the run's
    RunTrace is derived from that trace alone, so nothing is lost across runs (MASEval's own
    adapter reads the agent's memory, which keeps text, not tool calls, and the last run only).

    Runs of one adapter are serialised and form one conversation: the agent's memory is kept
    from run to run (``reset=False``); ``reset_conversation()`` starts a new one. The agent runs
    on the calling thread, from plain code, inside a running event loop (it blocks it, as the
    agent's own ``run`` does) or on MASEval's worker threads. An agent object keeps its memory:
    give each concurrent adapter an agent of its own.

    Arguments beyond MASEval's (``agent_instance``, ``name``, ``callbacks``,
    ``cost_calculator``, ``model_id``): ``telemetry``; ``project``; ``max_steps`` for each run;
    ``task_id``, ``repetition`` and ``metadata``, labels written on every span; ``run_kwargs``,
    more keyword arguments for the agent's ``run``. ``FrameworkNotInstalled`` when smolagents
    is not installed (``pip install 'otel-bridge[smolagents]'``).
    """

    framework_key = "smolagents"

    def __init__(
        self,
        agent_instance: Any,
        name: str,
        telemetry: Telemetry | None = None,
        callbacks: list[AgentCallback] | None = None,
        *,
        project: str | None = None,
        max_steps: int | None = None,
        task_id: str | None = None,
        repetition: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        run_kwargs: Mapping[str, Any] | None = None,
        cost_calculator: CostCalculator | None = None,
        model_id: str | None = None,
    ) -> None:
        _require_smolagents()
        if not callable(getattr(agent_instance, "run", None)) or not hasattr(
            agent_instance, "memory"
        ):
            raise ConfigError(
                "SmolAgentAdapter needs a smolagents agent (ToolCallingAgent, CodeAgent: an object "
                f"with run(task, reset=...) and a memory), got {type(agent_instance).__name__}"
            )
        reserved = sorted(set(run_kwargs or ()) & {"task", "reset", "stream", "max_steps"})
        if reserved:
            raise ConfigError(f"run_kwargs may not set {reserved}: the adapter owns them")
        self.max_steps = max_steps
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
        if FRAMEWORK not in {f.name for f in self.telemetry.frameworks}:
            raise ConfigError(
                "the adapter's Telemetry does not capture smolagents: create it with "
                "Telemetry(frameworks=[..., 'smolagents']) or without frameworks="
            )

    def _call_agent(self, query: str, talk: Conversation) -> Any:
        memory: _Memory = talk.state
        kwargs: dict[str, Any] = {**self.run_kwargs, "reset": not memory.started}
        if self.max_steps is not None:
            kwargs["max_steps"] = self.max_steps
        memory.started = True
        return self.agent.run(query, **kwargs)

    def _new_state(self) -> _Memory:
        """A conversation starts with the agent's memory reset on its first run."""
        return _Memory()

    def _answer_text(self, result: Any) -> str:
        """The final answer (a ``RunResult``'s ``output`` when the agent returns one)."""
        output = getattr(result, "output", result)
        return "" if output is None else str(output)

    def gather_config(self) -> dict[str, Any]:
        """The agent (tools, managed agents, model), telemetry settings and labels."""
        return {
            **super().gather_config(),
            "max_steps": self.max_steps,
            "run_kwargs": sorted(self.run_kwargs),
        }

    def _agent_config(self) -> dict[str, Any]:
        return _describe(self.agent)

    def _agent_model(self) -> str | None:
        model = getattr(getattr(self.agent, "model", None), "model_id", None)
        return None if model is None else str(model)


def _require_smolagents() -> None:
    try:
        import smolagents  # noqa: F401
    except ImportError as exc:
        raise FrameworkNotInstalled(
            f"smolagents is not installed: pip install 'otel-bridge[{EXTRA}]'"
        ) from exc


def _describe(agent: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON description of a smolagents agent and its managed agents."""
    tools = getattr(agent, "tools", None) or {}
    managed = getattr(agent, "managed_agents", None) or {}
    model = getattr(agent, "model", None)
    described: dict[str, Any] = {
        "type": type(agent).__name__,
        "name": getattr(agent, "name", None),
        "description": getattr(agent, "description", None),
        "model": None if model is None else getattr(model, "model_id", type(model).__name__),
        "model_type": None if model is None else type(model).__name__,
        "tools": sorted(str(t) for t in tools),
        "max_steps": getattr(agent, "max_steps", None),
        "instructions": getattr(agent, "instructions", None),
    }
    if depth < 8:  # managed agents may nest; a cycle would not end
        described["managed_agents"] = {
            str(name): _describe(sub, depth + 1) for name, sub in managed.items()
        }
    return described
