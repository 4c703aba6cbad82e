"""A scripted OpenAI-compatible server on 127.0.0.1 (chat completions and the Responses API),
for tests and the demo.

Real agents talk to it through their frameworks' real OpenAI clients (LlamaIndex's through
``scripted_openai_llm``). Each request is answered by a *script*:

- a sequence of ``Reply`` objects, consumed in order by every caller (``ReplyQueue``); or
- a router, any callable ``request_json -> Reply``. ``ConversationRouter`` is the ready-made
  one for concurrent and multi-agent runs: it picks a conversation by a marker found in the
  request's first user message (else in its system prompt) and answers with reply number N,
  where N is the number of assistant messages already in the request. It keeps no state, so
  runs under ``asyncio.gather`` or on threads each get their own replies.

In an ``AgentWorkflow`` of FunctionAgents every request carries the whole history, so a
conversation is the timeline of all agents' turns; ``Reply(agent=...)``, a substring of the
speaking agent's system prompt, makes the server reject a request from the wrong agent.
A ReActAgent leaves its reasoning out of the shared history (one assistant message once it
answers, none when it hands off): count the turns after it accordingly, or write a router.

A script mistake (exhausted script, wrong agent, router exception) is answered with HTTP 400
``code="script_error"`` so that no client retries it, and is recorded in ``server.log``.
Every exchange is recorded with the usage that was really sent: a streaming request without
``stream_options.include_usage`` receives none, and its ``Exchange.usage_sent`` is None.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._threaded_server import ThreadedServer, tcp_socket
from ..errors import ScriptError, ServerError
from ._responses import (
    chat_view,
    conversation_after,
    response_body,
    response_events,
    responses_sse_event,
    wire_usage,
)
from ._wire import (
    SSE_DONE,
    Reply,
    ResponseMeta,
    ToolCallSpec,
    Usage,
    assistant_turns,
    codeact_execute,
    completion_body,
    estimate_usage,
    first_user_text,
    openai_error,
    react_action,
    react_answer,
    request_messages,
    request_wants_usage,
    sse_event,
    stream_chunks,
    system_prompt,
    tool_call_ids,
)

if TYPE_CHECKING:
    from llama_index.llms.openai import OpenAI

__all__ = [
    "ConversationRouter",
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
    "first_user_text",
    "react_action",
    "react_answer",
    "scripted_openai_llm",
    "system_prompt",
]

logger = logging.getLogger(__name__)

STORED_MAX = 10_000
"""Responses API: how many responses' conversations are kept for ``previous_response_id``."""

Router = Callable[[Mapping[str, Any]], Reply]
"""A script as a function: the request JSON in, the reply to send out."""


# ----------------------------------------------------------------------------- scripts


class ReplyQueue:
    """A router that hands out fixed replies in order to whoever asks next (thread-safe)."""

    def __init__(self, replies: Iterable[Reply]) -> None:
        self._replies = deque(replies)
        self._lock = threading.Lock()

    def __call__(self, request: Mapping[str, Any]) -> Reply:
        """Pop the next reply; ``ScriptError`` when none is left."""
        with self._lock:
            if not self._replies:
                raise ScriptError("the reply queue is exhausted")
            return self._replies.popleft()

    @property
    def remaining(self) -> int:
        """Replies not handed out yet."""
        with self._lock:
            return len(self._replies)


class ConversationRouter:
    """A stateless router: conversation by marker, reply by the number of assistant turns.

    A marker matches when it is a substring of the first user message; only if no marker does,
    the system prompt is searched. The longest matching marker wins; the marker "" is the
    default for requests no other marker matches. Reply N answers a request carrying N
    assistant messages.
    """

    def __init__(self, conversations: Mapping[str, Sequence[Reply]]) -> None:
        self._conversations = {marker: tuple(replies) for marker, replies in conversations.items()}

    def marker_for(self, request: Mapping[str, Any]) -> str:
        """The marker of the conversation this request belongs to."""
        for text in (first_user_text(request), system_prompt(request)):
            found = [marker for marker in self._conversations if marker and marker in text]
            if found:
                longest = max(len(marker) for marker in found)
                best = [marker for marker in found if len(marker) == longest]
                if len(best) > 1:
                    raise ScriptError(f"ambiguous conversation markers {sorted(best)!r}")
                return best[0]
        if "" in self._conversations:
            return ""
        raise ScriptError(
            f"no conversation marker among {sorted(self._conversations)!r} in the first user "
            f"message {first_user_text(request)[:200]!r} or the system prompt"
        )

    def __call__(self, request: Mapping[str, Any]) -> Reply:
        """The reply for this request; ``ScriptError`` when the conversation is exhausted."""
        marker = self.marker_for(request)
        replies = self._conversations[marker]
        step = assistant_turns(request)
        if step >= len(replies):
            raise ScriptError(
                f"conversation {marker!r} has {len(replies)} replies; the request already "
                f"carries {step} assistant messages"
            )
        return replies[step]


# ----------------------------------------------------------------------------- ground truth


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the server received and what it answered (ground truth for tests).

    ``index`` counts requests since the server was created (``clear_log`` does not reset it).
    ``api`` is "chat" (``/v1/chat/completions``) or "responses" (``/v1/responses``).
    ``usage`` is what the reply reported or would have reported; ``usage_sent`` is what
    actually went over the wire (None for a stream without ``include_usage`` or an error).
    """

    index: int
    request_json: Mapping[str, Any]
    reply: Reply | None
    status: int
    streamed: bool
    usage: Usage | None
    usage_sent: Usage | None
    response_id: str | None = None
    tool_call_ids: tuple[str, ...] = ()
    error: str | None = None
    api: str = "chat"
    chat_json: Mapping[str, Any] | None = None
    """A Responses request as the chat request it stands for (its earlier conversation
    included when it names a ``previous_response_id``)."""

    @property
    def messages(self) -> list[Mapping[str, Any]]:
        """The request's messages (a Responses request's as chat messages)."""
        return request_messages(self.chat_json or self.request_json)


# ----------------------------------------------------------------------------- the server


class ScriptedLLMServer:
    """OpenAI-compatible ``POST /v1/chat/completions`` and ``/v1/responses`` on 127.0.0.1.

    Served in a background thread; both APIs answer from the same script (a Responses request
    is routed as the chat request it stands for, see ``_responses.chat_view``).

    ``with ScriptedLLMServer(router) as server: llm = scripted_openai_llm(server)``; then
    ``server.log`` holds every exchange. ``set_script`` swaps the script of a running server.
    """

    stream_usage: bool = True
    """False: a stream never ends with a usage chunk, even when the client asks for one."""

    def __init__(self, script: Router | Sequence[Reply] | None = None) -> None:
        self._lock = threading.Lock()
        self._router: Router = ReplyQueue(())
        self._log: list[Exchange] = []
        self._sequence = itertools.count()  # not reset by clear_log: ids stay unique
        # Responses API: each response's conversation, for a later previous_response_id
        self._stored: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._server: ThreadedServer | None = None
        if script is not None:
            self.set_script(script)

    # -- lifecycle

    def start(self, timeout_s: float = 10.0) -> ScriptedLLMServer:
        """Bind an ephemeral port and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise ServerError("the scripted LLM server is already running")
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._handle_chat, methods=["POST"]),
                Route("/v1/responses", self._handle_responses, methods=["POST"]),
            ]
        )
        server = ThreadedServer(
            app, tcp_socket("127.0.0.1", 0), "scripted-llm", timeout_graceful_shutdown=1
        )
        self._server = server.start(timeout_s)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving, join the thread and release the port (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout_s)

    def __enter__(self) -> ScriptedLLMServer:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (0 before ``start``)."""
        return self._server.port if self._server is not None else 0

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``/``api_base``: ``http://127.0.0.1:PORT/v1``."""
        if not self.port:
            raise ServerError("the scripted LLM server is not started")
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script and ground truth

    def set_script(self, script: Router | Sequence[Reply]) -> None:
        """Answer the next requests from ``script``: a router or replies taken in order."""
        router: Router = script if callable(script) else ReplyQueue(script)
        with self._lock:
            self._router = router

    @property
    def log(self) -> list[Exchange]:
        """A snapshot of every exchange so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        """Forget the recorded exchanges."""
        with self._lock:
            self._log.clear()

    def usage_sent_total(self) -> Usage:
        """Sum of the usage actually sent over the wire (what a span-based count can see)."""
        sent = [exchange.usage_sent for exchange in self.log if exchange.usage_sent is not None]
        return Usage(
            prompt=sum(usage.prompt for usage in sent),
            completion=sum(usage.completion for usage in sent),
            cached=sum(usage.cached or 0 for usage in sent),
            reasoning=sum(usage.reasoning or 0 for usage in sent),
        )

    def _record(
        self,
        body: Mapping[str, Any],
        streamed: bool,
        reply: Reply | None,
        status: int,
        usage: Usage | None = None,
        usage_sent: Usage | None = None,
        error: str | None = None,
        api: str = "chat",
        chat: Mapping[str, Any] | None = None,
    ) -> Exchange:
        chat = chat if chat is not None else body
        prefix = "resp_scripted" if api == "responses" else "chatcmpl-scripted"
        with self._lock:
            index = next(self._sequence)
            answered = reply is not None and status == 200
            exchange = Exchange(
                index=index, request_json=body, reply=reply, status=status, streamed=streamed,
                usage=usage, usage_sent=usage_sent, error=error, api=api,
                chat_json=chat if api == "responses" else None,
                response_id=f"{prefix}{index:06d}" if answered else None,
                tool_call_ids=(
                    tuple(tool_call_ids(chat, reply, salt=str(index))) if reply and answered else ()
                ),
            )  # fmt: skip
            self._log.append(exchange)
            return exchange

    def _store(self, exchange: Exchange, conversation: list[dict[str, Any]]) -> None:
        """Keep a response's conversation (the latest ``STORED_MAX``) for a later request."""
        with self._lock:
            self._stored[exchange.response_id or ""] = conversation
            while len(self._stored) > STORED_MAX:
                self._stored.popitem(last=False)

    # -- HTTP

    async def _handle_chat(self, request: Request) -> Response:
        return await self._answer(request, "chat")

    async def _handle_responses(self, request: Request) -> Response:
        return await self._answer(request, "responses")

    async def _answer(self, request: Request, api: str) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(openai_error(400, "the request body is not JSON"), status_code=400)
        if not isinstance(body, dict):
            return JSONResponse(openai_error(400, "the request body is not an object"), 400)
        streamed = body.get("stream") is True
        if api == "responses":
            previous = body.get("previous_response_id")
            with self._lock:
                earlier = self._stored.get(previous) if isinstance(previous, str) else []
            if earlier is None:
                message = f"Previous response with id {previous!r} not found."
                self._record(body, streamed, None, 400, error=message, api=api)
                return JSONResponse(
                    openai_error(400, message, code="previous_response_not_found"), 400
                )
            chat = chat_view(body, earlier)
        else:
            chat = body
        with self._lock:
            router = self._router
        try:
            reply = router(chat)
            if reply.agent is not None and reply.agent not in system_prompt(chat):
                raise ScriptError(
                    f"the reply is scripted for agent {reply.agent!r} but the system prompt is "
                    f"{system_prompt(chat)[:200]!r}"
                )
        except Exception as exc:  # a script bug: answer 400 so that no client retries it
            if not isinstance(exc, ScriptError):
                logger.exception("the scripted LLM router raised")
            message = f"scripted_llm: {exc}"
            self._record(body, streamed, None, 400, error=message, api=api, chat=chat)
            return JSONResponse(openai_error(400, message, code="script_error"), 400)

        if reply.status != 200:
            error = f"HTTP {reply.status}"
            self._record(body, streamed, reply, reply.status, error=error, api=api, chat=chat)
            await asyncio.sleep(reply.delay_s)
            payload = dict(reply.error_body or openai_error(reply.status, "scripted error"))
            return JSONResponse(payload, status_code=reply.status)

        usage = reply.usage or estimate_usage(chat, reply)
        if api == "responses":  # a Responses stream always ends with its usage
            usage = wire_usage(usage)
            wants_usage = self.stream_usage
        else:
            wants_usage = request_wants_usage(body) and self.stream_usage
        usage_sent = usage if not streamed or wants_usage else None
        exchange = self._record(body, streamed, reply, 200, usage, usage_sent, api=api, chat=chat)
        if api == "responses" and body.get("store") is not False:
            self._store(exchange, conversation_after(chat, reply, exchange.tool_call_ids))
        meta = ResponseMeta(
            response_id=exchange.response_id or "",
            model=str(body.get("model", "scripted")),
            created=int(time.time()),
            tool_call_ids=exchange.tool_call_ids,
        )
        await asyncio.sleep(reply.delay_s)
        if api == "responses" and not streamed:
            return JSONResponse(response_body(body, reply, meta, usage))
        if not streamed:
            return JSONResponse(completion_body(reply, meta, usage))
        if api == "responses":
            events = [
                responses_sse_event(e) for e in response_events(body, reply, meta, usage_sent)
            ]
        else:
            events = [sse_event(chunk) for chunk in stream_chunks(reply, meta, usage_sent)]
            events.append(SSE_DONE)
        return StreamingResponse(_sse(events, reply.chunk_delay_s), media_type="text/event-stream")


async def _sse(events: Sequence[bytes], delay_s: float) -> AsyncIterator[bytes]:
    for index, event in enumerate(events):
        if index and delay_s:
            await asyncio.sleep(delay_s)
        yield event


# ----------------------------------------------------------------------------- the client side


def scripted_openai_llm(
    server: ScriptedLLMServer | str,
    *,
    include_usage: bool = False,
    model: str = "gpt-4o-mini",
    timeout: float = 10.0,
    **kwargs: Any,
) -> OpenAI:
    """The real LlamaIndex ``OpenAI`` LLM pointed at the server, with retries off.

    ``include_usage=True`` adds ``stream_options.include_usage`` so streamed calls report tokens.
    """
    from llama_index.llms.openai import OpenAI

    additional = dict(kwargs.pop("additional_kwargs", None) or {})
    if include_usage:
        additional["stream_options"] = {"include_usage": True}
    base_url = server.base_url if isinstance(server, ScriptedLLMServer) else server
    kwargs.setdefault("max_retries", 0)
    return OpenAI(
        model=model, api_key="fake", api_base=base_url, timeout=timeout,
        additional_kwargs=additional, **kwargs,
    )  # fmt: skip
