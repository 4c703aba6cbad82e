"""What a LlamaIndex workflow agent or AgentWorkflow is made of, as JSON; never raises.

Reads only public attributes (``agents``, ``root_agent``, ``name``, ``system_prompt``,
``tools``, ``llm``, ``can_handoff_to``); anything that cannot be read becomes an ``error``
string in the result instead of an exception, so ``gather_config()`` always answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "describe_llm",
    "describe_workflow",
    "handoff_graph",
    "llm_model",
    "root_agent_name",
    "workflow_agents",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def workflow_agents(agent: Any) -> dict[str, Any]:
    """The agents by name: those of an AgentWorkflow, or the single agent itself."""
    members = getattr(agent, "agents", None)
    if isinstance(members, Mapping):
        return {str(name): member for name, member in members.items()}
    if isinstance(members, (list, tuple)):
        return {_agent_name(member, i): member for i, member in enumerate(members)}
    if _has(agent, "llm") or _has(agent, "tools"):
        return {_agent_name(agent, 0): agent}
    return {}


def _has(obj: Any, attribute: str) -> bool:
    """``hasattr`` that also survives properties raising something else than AttributeError."""
    try:
        return hasattr(obj, attribute)
    except Exception:
        return True


def root_agent_name(agent: Any) -> str | None:
    """The agent a run starts with."""
    root = getattr(agent, "root_agent", None)
    if isinstance(root, str):
        return root
    names = list(workflow_agents(agent))
    return names[0] if names else None


def handoff_graph(agent: Any) -> dict[str, list[str]]:
    """Which agent may hand off to which (``can_handoff_to`` None means every other agent)."""
    agents = workflow_agents(agent)
    if len(agents) < 2:
        return {name: [] for name in agents}
    graph = {}
    for name, member in agents.items():
        targets = getattr(member, "can_handoff_to", None)
        if targets is None:
            graph[name] = [other for other in agents if other != name]
        else:
            graph[name] = [str(target) for target in targets]
    return graph


def llm_model(llm: Any) -> str | None:
    """The model name an LLM object reports, else its ``model`` attribute."""
    try:
        name = llm.metadata.model_name
    except Exception:
        name = None
    if not name:
        name = getattr(llm, "model", None)
    return str(name) if name else None


def describe_llm(llm: Any) -> dict[str, Any] | None:
    """Class, model and whether streamed calls report usage (None when unknown)."""
    if llm is None:
        return None
    extra = getattr(llm, "additional_kwargs", None)
    options = extra.get("stream_options") if isinstance(extra, Mapping) else None
    return {
        "class": f"{type(llm).__module__}.{type(llm).__qualname__}",
        "model": llm_model(llm),
        "stream_usage": (
            bool(options.get("include_usage")) if isinstance(options, Mapping) else None
        ),
    }


def describe_workflow(agent: Any) -> dict[str, Any]:
    """Agents (prompt, tools, LLM), root agent and handoff graph of an agent or workflow.

    What cannot be read is left at None (or empty) and explained under ``errors``.
    """
    errors: list[str] = []
    no_agents: dict[str, Any] = {}
    no_graph: dict[str, list[str]] = {}
    agents = _safe(lambda: workflow_agents(agent), no_agents, errors)
    described: dict[str, Any] = {
        "type": f"{type(agent).__module__}.{type(agent).__qualname__}",
        "root_agent": _safe(lambda: root_agent_name(agent), None, errors),
        "agents": [_describe_agent(name, member, errors) for name, member in agents.items()],
        "handoffs": _safe(lambda: handoff_graph(agent), no_graph, errors),
        "timeout_s": _safe(lambda: _number(getattr(agent, "timeout", None)), None, errors),
    }
    if errors:
        described["errors"] = errors
    return described


def _describe_agent(name: str, agent: Any, errors: list[str]) -> dict[str, Any]:
    no_tools: list[dict[str, Any]] = []
    return {
        "name": name,
        "type": type(agent).__qualname__,
        "description": _safe(lambda: _text(getattr(agent, "description", None)), None, errors),
        "system_prompt": _safe(lambda: _text(getattr(agent, "system_prompt", None)), None, errors),
        "tools": _safe(lambda: _tools(agent), no_tools, errors),
        "tool_retriever": _safe(
            lambda: getattr(agent, "tool_retriever", None) is not None, False, errors
        ),
        "llm": _safe(lambda: describe_llm(getattr(agent, "llm", None)), None, errors),
        "streaming": _safe(lambda: _flag(getattr(agent, "streaming", None)), None, errors),
    }


def _tools(agent: Any) -> list[dict[str, Any]]:
    tools = []
    for tool in getattr(agent, "tools", None) or ():
        metadata = getattr(tool, "metadata", None)
        name = getattr(metadata, "name", None) or getattr(tool, "__name__", None)
        description = getattr(metadata, "description", None) or getattr(tool, "__doc__", None)
        tools.append({"name": _text(name), "description": _text(description)})
    return tools


def _agent_name(agent: Any, index: int) -> str:
    name = getattr(agent, "name", None)
    return str(name) if name else f"agent_{index}"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _safe(read: Callable[[], T], default: T, errors: list[str]) -> T:
    """``read()``, or ``default`` with the reason added to ``errors``."""
    try:
        return read()
    except Exception as exc:
        logger.debug("otel-bridge: could not read agent configuration", exc_info=True)
        errors.append(f"{type(exc).__name__}: {exc}")
        return default
