"""A scripted OpenAI-compatible model on 127.0.0.1, for the demo and the tests.

Real agents talk to it through their frameworks' real OpenAI clients. The OpenAI wire formats
(requests in, JSON and SSE replies out) are pure: chat completions in ``_wire``, the Responses
API in ``_responses``; the HTTP server, scripts and routers are ``_server``; the demo's
researcher -> writer run and its offline tools are ``_demo_script``.
"""

from __future__ import annotations

from ..errors import ScriptError
from ._demo_script import DemoScript, demo_script, demo_search, demo_word_count
from ._server import (
    ConversationRouter,
    Exchange,
    ReplyQueue,
    Router,
    ScriptedLLMServer,
    scripted_openai_llm,
)
from ._wire import (
    Reply,
    ToolCallSpec,
    Usage,
    assistant_turns,
    codeact_execute,
    estimate_usage,
    first_user_text,
    react_action,
    react_answer,
    system_prompt,
)

__all__ = [
    "ConversationRouter",
    "DemoScript",
    "Exchange",
    "Reply",
    "ReplyQueue",
    "Router",
    "ScriptError",
    "ScriptedLLMServer",
    "ToolCallSpec",
    "Usage",
    "assistant_turns",
    "codeact_execute",
    "demo_script",
    "demo_search",
    "demo_word_count",
    "estimate_usage",
    "first_user_text",
    "react_action",
    "react_answer",
    "scripted_openai_llm",
    "system_prompt",
]
