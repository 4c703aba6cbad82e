"""MASEval adapter for LlamaIndex workflow agents, its data derived from their OpenTelemetry spans.

The span side (root span, labels, derivation, what MASEval reads) is ``SpanAgentAdapter``'s;
this module runs a LlamaIndex workflow (on a shared background event loop, from any calling
context), carries its Context and memory from run to run, and describes the workflow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from maseval.core.callback import AgentCallback
from maseval.core.usage import CostCalculator

from ..telemetry import Telemetry
from ._background_loop import run_sync
from ._span_adapter import Conversation, SpanAgentAdapter, maseval_labels
from ._stream_usage import UsageReporting, enable_stream_usage
from ._workflow import describe_workflow, llm_model, root_agent_name, workflow_agents

__all__ = ["LlamaIndexAgentAdapter", "maseval_labels"]

logger = logging.getLogger(__name__)

RESERVED_RUN_KWARGS = frozenset({"user_msg", "ctx", "memory", "max_iterations"})


class LlamaIndexAgentAdapter(SpanAgentAdapter):
    """A MASEval ``AgentAdapter`` for LlamaIndex workflow agents, fed by OpenTelemetry spans.

    Works with ``FunctionAgent``, ``ReActAgent``, ``CodeActAgent`` and a multi-agent
    ``AgentWorkflow`` (anything with a workflow ``run(user_msg=...)``). Every ``run()`` opens a
    root span on ``telemetry`` (default: ``default_telemetry()``, in memory, or with
    ``project``, ``project_telemetry(project)``: see below) labelled with
    ``session.id`` (this conversation) and ``metadata`` (adapter name, ``task_id``,
    ``repetition``, ``metadata``), which OpenInference copies onto every span of the run; the
    run's RunTrace is derived from that trace alone.

    ``run()`` works from plain code, inside a running event loop and on MASEval worker threads:
    the agent runs on one background event loop shared by the process (see
    ``_background_loop``), in a copy of the caller's context. A failing run is still
    derived and logged, then its exception propagates. Runs of one adapter are serialised: they
    form one conversation, continued through a workflow ``Context`` and the agent memory the
    adapter keeps; ``reset_conversation()`` starts a new one.

    Usage reporting: with ``include_usage=True`` (default) each agent whose LLM is
    ``llama_index.llms.openai.OpenAI`` or a subclass gets, as its ``llm`` attribute, a COPY of
    that LLM with ``stream_options.include_usage`` set, because streamed calls report no tokens
    otherwise. The user's LLM object is not changed, but the agent's ``llm`` attribute is; see
    ``usage_reporting`` and ``_stream_usage``. Where usage stays unknown the
    derived usage says ``complete: false``.

    Cost: every LLM call is priced on its own, with its own model (a workflow may use several):
    by genai-prices, or the Telemetry's ``prices`` table, in USD. ``gather_usage().cost`` sums
    the calls whose cost is known and ``units["llm_calls_unpriced"]`` counts the others
    (MASEval has no "unknown"; the RunTraces in ``gather_traces()`` say ``complete: false``).
    A ``cost_calculator`` given here wins over those prices for ``gather_usage()``, because the
    caller chose it (it may count credits rather than dollars): it is asked once per LLM call
    with that call's model, or with ``model_id`` when given; a call it returns None for is
    unpriced. The RunTraces keep their USD cost either way.

    Project: with ``project`` (e.g. the benchmark's name) and no ``telemetry``, runs go to the
    process-wide Telemetry of that Phoenix project, exporting where ``OTEL_EXPORTER_OTLP_*``
    say (nowhere when unset); ``OTEL_BRIDGE_PROJECT`` / ``PHOENIX_PROJECT_NAME`` override the
    name. A ``telemetry`` given here keeps its own project; ``project`` is then unused.

    Arguments beyond MASEval's (``agent_instance``, ``name``, ``callbacks``,
    ``cost_calculator``, ``model_id``): ``telemetry``; ``project``; ``include_usage``;
    ``max_iterations`` for the workflow run; ``task_id``, ``repetition`` and ``metadata``, labels
    written on every span (``maseval_labels(task, seed_generator)`` gives the first two inside
    ``setup_agents``); ``run_kwargs``, more keyword arguments for the workflow's ``run``.
    """

    framework_key = "llamaindex"

    def __init__(
        self,
        agent_instance: Any,
        name: str,
        telemetry: Telemetry | None = None,
        callbacks: list[AgentCallback] | None = None,
        *,
        project: str | None = None,
        include_usage: bool = True,
        max_iterations: int | None = None,
        task_id: str | None = None,
        repetition: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        run_kwargs: Mapping[str, Any] | None = None,
        cost_calculator: CostCalculator | None = None,
        model_id: str | None = None,
    ) -> None:
        if not callable(getattr(agent_instance, "run", None)):
            raise TypeError(
                "LlamaIndexAgentAdapter needs a LlamaIndex workflow agent or AgentWorkflow "
                f"(an object with run(user_msg=...)), got {type(agent_instance).__name__}"
            )
        reserved = sorted(set(run_kwargs or ()) & RESERVED_RUN_KWARGS)
        if reserved:
            raise ValueError(f"run_kwargs may not set {reserved}: the adapter owns them")
        self.include_usage = include_usage
        self.max_iterations = max_iterations
        self.run_kwargs = dict(run_kwargs or {})
        self.usage_reporting: list[UsageReporting] = (
            enable_stream_usage(workflow_agents(agent_instance)) if include_usage else []
        )
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
        return run_sync(lambda: self._workflow_run(query, talk))

    async def _workflow_run(self, query: str, talk: Conversation) -> Any:
        kwargs: dict[str, Any] = {**self.run_kwargs, "user_msg": query}
        if self.max_iterations is not None:
            kwargs["max_iterations"] = self.max_iterations
        if talk.state is None:
            return await self.agent.run(**kwargs)
        # A continued Context is rebuilt from its serialised form, and the agent memory does not
        # serialise once it holds tool calls: hand the live memory in again on every run.
        kwargs["ctx"] = talk.state
        if talk.memory is not None:
            kwargs["memory"] = talk.memory
        try:
            return await self.agent.run(**kwargs)
        finally:
            try:
                talk.memory = await talk.state.store.get("memory", default=talk.memory)
            except Exception:
                logger.warning("otel-bridge: could not keep the agent memory", exc_info=True)

    def _new_state(self) -> Any:
        """A workflow Context for a multi-agent workflow (agents carry their own memory)."""
        from llama_index.core.workflow import Context, Workflow

        return Context(self.agent) if isinstance(self.agent, Workflow) else None

    def _answer_text(self, result: Any) -> str:
        """The final answer of a workflow agent run (``AgentOutput.response``)."""
        return _answer_text(result)

    def gather_config(self) -> dict[str, Any]:
        """Agents, prompts, tools, LLMs, handoff graph and telemetry settings; never raises."""
        return {
            **super().gather_config(),
            "usage_reporting": {
                "include_usage": self.include_usage,
                "agents": [u.to_dict() for u in self.usage_reporting],
            },
            "max_iterations": self.max_iterations,
            "run_kwargs": sorted(self.run_kwargs),
        }

    def _agent_config(self) -> dict[str, Any]:
        return describe_workflow(self.agent)

    def _agent_model(self) -> str | None:
        """The model of the root agent's LLM."""
        agents = workflow_agents(self.agent)
        root = agents.get(root_agent_name(self.agent) or "")
        for candidate in (root, *agents.values()):
            llm = getattr(candidate, "llm", None)
            if llm is not None:
                return llm_model(llm)
        return None


def _answer_text(result: Any) -> str:
    """The final answer of a workflow agent run (``AgentOutput.response``)."""
    content = getattr(getattr(result, "response", None), "content", None)
    if isinstance(content, str) and content:
        return content
    structured = getattr(result, "structured_response", None)
    if structured:
        return json.dumps(structured, default=str)
    return "" if result is None else str(result)
