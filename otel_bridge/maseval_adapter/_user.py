"""LlamaIndexUser: a MASEval simulated user that LlamaIndex agents ask through a tool."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from maseval import LLMUser

if TYPE_CHECKING:
    from llama_index.core.tools import FunctionTool

__all__ = ["ASK_USER_DESCRIPTION", "ASK_USER_TOOL", "LlamaIndexUser"]

ASK_USER_TOOL = "ask_user"
ASK_USER_DESCRIPTION = (
    "Ask the user a question and get their response. Use this when you need clarification "
    "or additional information from the user."
)


class LlamaIndexUser(LLMUser):
    """A MASEval ``LLMUser`` whose ``get_tool()`` is a LlamaIndex ``FunctionTool`` ``ask_user``.

    Built exactly like ``maseval.LLMUser`` (same arguments). Give the tool to an agent; each
    question is an ordinary tool call, so it and the user's answer appear in the adapter's
    derived messages as an assistant tool call and a ``tool`` message named ``ask_user``.
    LlamaIndex runs a sync tool on a worker thread, so a slow user simulator does not block the
    event loop the agents run on; questions asked in one turn are answered one at a time, so
    the turn count holds. A user with no turns left raises ``UserExhaustedError``
    unless ``exhausted_response`` is set; inside a tool LlamaIndex turns that error into the
    tool's output, so set ``exhausted_response`` for tool-driven conversations.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._asking = threading.Lock()

    def get_tool(self) -> FunctionTool:
        """The ``ask_user(question)`` tool, answered by ``respond()``."""
        from llama_index.core.tools import FunctionTool

        def ask_user(question: str) -> str:
            """Ask the user a question and return their answer."""
            # Tool calls of one turn run concurrently; respond() counts turns unguarded.
            with self._asking:
                return self.respond(question)

        return FunctionTool.from_defaults(
            fn=ask_user, name=ASK_USER_TOOL, description=ASK_USER_DESCRIPTION
        )
