"""Token usage for streamed calls: ``stream_options.include_usage`` on OpenAI-family LLMs.

Workflow agents stream by default, and ``llama_index.llms.openai.OpenAI`` (with its
subclasses ``OpenAILike``, ``AzureOpenAI``, ...) then reports no token counts unless
``additional_kwargs`` carries ``{"stream_options": {"include_usage": True}}``; it drops that
option by itself on non-streamed calls, so setting it is safe for both. Other LLM classes
(Anthropic, Gemini, ``OpenAIResponses``, ...) report usage their own way and are left alone.

The user's LLM object is never modified: the agent's ``llm`` attribute is set to a copy of it
with the option added (one copy per distinct LLM, so agents that shared an LLM still share).
An LLM whose ``additional_kwargs`` already has ``stream_options`` is kept as configured.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["STREAM_USAGE_OPTION", "UsageReporting", "enable_stream_usage", "supports_stream_usage"]

logger = logging.getLogger(__name__)

STREAM_USAGE_OPTION = {"stream_options": {"include_usage": True}}
"""What ``additional_kwargs`` needs for an OpenAI stream to end with a usage chunk."""

Action = Literal["enabled", "kept", "unsupported", "failed"]


@dataclass(frozen=True, slots=True)
class UsageReporting:
    """What was done about usage reporting for one agent's LLM.

    ``enabled``: the agent now uses a copy of its LLM that asks for usage; ``kept``: the LLM
    already sets ``stream_options``; ``unsupported``: not an OpenAI-family LLM (its own
    integration decides); ``failed``: the copy could not be made or set (see the log).
    """

    agent: str
    llm_class: str
    action: Action

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"agent": self.agent, "llm_class": self.llm_class, "action": self.action}


def supports_stream_usage(llm: Any) -> bool:
    """True for ``llama_index.llms.openai.OpenAI`` and its subclasses."""
    try:
        from llama_index.llms.openai import OpenAI
    except ImportError:  # the OpenAI integration is not installed: nothing to turn on
        return False
    return isinstance(llm, OpenAI)


def enable_stream_usage(agents: Mapping[str, Any]) -> list[UsageReporting]:
    """Give every agent with an OpenAI-family LLM a copy that reports usage when streaming."""
    copies: dict[int, Any] = {}
    report = []
    for name, agent in agents.items():
        llm = getattr(agent, "llm", None)
        if llm is None:
            continue
        llm_class = f"{type(llm).__module__}.{type(llm).__qualname__}"
        report.append(UsageReporting(name, llm_class, _enable(agent, llm, copies)))
    return report


def _enable(agent: Any, llm: Any, copies: dict[int, Any]) -> Action:
    if not supports_stream_usage(llm):
        return "unsupported"
    extra = getattr(llm, "additional_kwargs", None) or {}
    if "stream_options" in extra:
        return "kept"
    try:
        copy = copies.get(id(llm))
        if copy is None:
            copy = llm.model_copy(update={"additional_kwargs": {**extra, **STREAM_USAGE_OPTION}})
            copies[id(llm)] = copy
        agent.llm = copy
    except Exception:
        logger.exception("otel-bridge: could not turn on usage reporting for %r", agent)
        return "failed"
    return "enabled"
