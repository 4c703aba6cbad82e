"""The demo's follow-up hints: what to run next, for the server behind the OTLP endpoint.

The demo cannot know for sure which server took its spans, so after a successful export it
asks, cheaply (one GET each, ``PROBE_TIMEOUT_S`` at most), on the endpoint's host:

1. the endpoint's own HTTP port (for OTLP/gRPC on 4317: 4318, the usual OTLP/HTTP beside it):
   an otel-bridge collector answers ``GET /api/traces?limit=1`` with its run list (or a 401
   ``{"error": ...}`` when it wants a token); Phoenix answers ``GET /healthz`` (asked second:
   our collector answers it too);
2. when that port says nothing about itself (an OpenTelemetry Collector, Jaeger's OTLP
   receiver), the usual neighbours of the compose stack on the same host: a Jaeger query
   service (``GET :16686/api/services``) and Phoenix (``GET :6006/healthz``).

Phoenix's hint is its project's page, whose id Phoenix gives once it has stored the project's
first spans (asked again for up to ``PROJECT_WAIT_S``, else the list of projects).

The hints name what was found; when nothing was, they say so and show the commands for Jaeger
and Phoenix with placeholders. Probing never fails the demo.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

import httpx
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..telemetry import Protocol

__all__ = [
    "Backend",
    "BackendKind",
    "Hint",
    "find_backends",
    "hints_for",
    "print_hints",
    "receiver_text",
]

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
PROJECT_WAIT_S, PROJECT_POLL_S = 3.0, 0.1  # for Phoenix to store a new project's first spans
JAEGER_QUERY_PORT = 16686
PHOENIX_PORT = 6006
OTLP_GRPC_PORT, OTLP_HTTP_PORT = 4317, 4318

BackendKind = Literal["collector", "phoenix", "jaeger"]


@dataclass(frozen=True, slots=True)
class Backend:
    """A server that holds the run: what it is, its HTTP base URL, Phoenix's project id, and
    whether it is the endpoint itself or a neighbour on its host."""

    kind: BackendKind
    url: str
    project_id: str | None = None
    at_endpoint: bool = True


@dataclass(frozen=True, slots=True)
class Hint:
    """One follow-up: a command or URL, and what it gives."""

    command: str
    comment: str


def find_backends(
    endpoint: str,
    protocol: Protocol,
    project: str,
    *,
    neighbours: dict[BackendKind, int] | None = None,
    client: httpx.Client | None = None,
) -> list[Backend]:
    """The servers that hold what was exported to ``endpoint`` (see the module doc).

    ``neighbours`` maps ``jaeger`` / ``phoenix`` to the ports asked on the endpoint's host when
    the endpoint does not say what it is (default: 16686 and 6006, compose's ports).
    """
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parts.hostname or "localhost"
    scheme = "https" if parts.scheme == "https" else "http"
    netloc = f"[{host}]" if ":" in host else host
    port = parts.port or (443 if scheme == "https" else 80)
    if protocol == "grpc":
        port = OTLP_HTTP_PORT if port == OTLP_GRPC_PORT else 0  # the HTTP side is unknown
    around = {"jaeger": JAEGER_QUERY_PORT, "phoenix": PHOENIX_PORT, **(neighbours or {})}
    own = client or httpx.Client(timeout=PROBE_TIMEOUT_S)
    try:
        base = f"{scheme}://{netloc}:{port}"
        if port and _is_collector(own, base):
            return [Backend("collector", base)]
        if port and _is_phoenix(own, base):
            return [Backend("phoenix", base, _phoenix_project_id(own, base, project))]
        found = []
        jaeger = f"{scheme}://{netloc}:{around['jaeger']}"
        if _is_jaeger_query(own, jaeger):
            found.append(Backend("jaeger", jaeger, at_endpoint=False))
        phoenix = f"{scheme}://{netloc}:{around['phoenix']}"
        if _is_phoenix(own, phoenix):
            project_id = _phoenix_project_id(own, phoenix, project)
            found.append(Backend("phoenix", phoenix, project_id, at_endpoint=False))
        return found
    finally:
        if client is None:
            own.close()


def _json(client: httpx.Client, url: str) -> tuple[int, object]:
    """Status and JSON body of a GET; (0, None) when nothing answers or it is not JSON."""
    try:
        answer = client.get(url)
    except httpx.HTTPError as exc:
        logger.debug("otel-bridge demo: %s: %s", url, exc)
        return 0, None
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, None


def _is_collector(client: httpx.Client, base: str) -> bool:
    status, body = _json(client, f"{base}/api/traces?limit=1")
    if not isinstance(body, dict):
        return False
    return (status == 200 and "traces" in body) or (status == 401 and "error" in body)


def _is_phoenix(client: httpx.Client, base: str) -> bool:
    try:
        answer = client.get(f"{base}/healthz")
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.text.strip() == "OK"


def _is_jaeger_query(client: httpx.Client, base: str) -> bool:
    status, body = _json(client, f"{base}/api/services")
    return status == 200 and isinstance(body, dict) and "data" in body


def _phoenix_project_id(
    client: httpx.Client, base: str, project: str, wait_s: float = PROJECT_WAIT_S
) -> str | None:
    """The project's id for its UI URL (``GET /v1/projects/{name}``); None if not there.

    Phoenix acknowledges spans before it stores them and creates a new project when it does,
    so a 404 right after the export is asked again, every ``PROJECT_POLL_S``, for ``wait_s``.
    """
    url = f"{base}/v1/projects/{quote(project, safe='')}"
    deadline = time.monotonic() + wait_s
    while True:
        status, body = _json(client, url)
        data = body.get("data") if isinstance(body, dict) else None
        if status == 200 and isinstance(data, dict) and "id" in data:
            return str(data["id"])
        if status != 404 or time.monotonic() + PROJECT_POLL_S > deadline:
            return None
        time.sleep(PROJECT_POLL_S)


def hints_for(backends: list[Backend], trace_id: str, project: str) -> list[Hint]:
    """Commands and URLs that show this run where it went."""
    hints: list[Hint] = []
    for backend in backends:
        if backend.kind == "collector":
            hints += [
                Hint(f"otel-bridge traces {backend.url}", "the runs the collector holds"),
                Hint(
                    f"otel-bridge derive {backend.url} --trace-id {trace_id}",
                    "this run, from the collector",
                ),
            ]
        elif backend.kind == "phoenix":
            page = f"projects/{backend.project_id}" if backend.project_id else "projects"
            hints += [
                Hint(f"{backend.url}/{page}", f"Phoenix, project {project}"),
                Hint(
                    f"otel-bridge derive phoenix+{backend.url}/{project} --trace-id {trace_id}",
                    "this run, from Phoenix",
                ),
            ]
        else:
            hints += [
                Hint(f"{backend.url}/trace/{trace_id}", "this run in the Jaeger UI"),
                Hint(
                    f"otel-bridge derive jaeger+{backend.url} --trace-id {trace_id}",
                    "this run, from Jaeger",
                ),
            ]
    if not backends:
        hints += [
            Hint(
                f"otel-bridge derive jaeger+http://HOST:{JAEGER_QUERY_PORT} --trace-id {trace_id}",
                "from Jaeger (its query port)",
            ),
            Hint(
                f"otel-bridge derive phoenix+http://HOST:{PHOENIX_PORT}/{project} "
                f"--trace-id {trace_id}",
                "from Phoenix",
            ),
        ]
    return hints


def receiver_text(backends: list[Backend], project: str) -> str:
    """What the endpoint turned out to be, in a few words."""
    if len(backends) == 1 and backends[0].at_endpoint:
        kind = backends[0].kind
        return "an otel-bridge collector" if kind == "collector" else f"Phoenix, project {project}"
    if backends:
        found = [f"{'Jaeger' if b.kind == 'jaeger' else 'Phoenix'} at {b.url}" for b in backends]
        return "an OTLP receiver, with " + " and ".join(found) + " beside it"
    return "a server that does not say what it is"


def print_hints(console: Console, hints: list[Hint]) -> None:
    """Each hint as ``command   # comment``, the comments in one column, every line within the
    console's width: a hint that does not fit has its comment above it, and a command longer
    than the width goes on with `` \\`` before an option, so it still pastes into a shell."""
    width = console.width
    # The comments' column: the one that puts the most hints on one line each.
    column = max(
        sorted({len(h.command) for h in hints}),
        key=lambda c: sum(len(h.command) <= c and _aligned_width(c, h) <= width for h in hints),
        default=0,
    )
    for hint in hints:
        comment = escape(hint.comment)
        if len(hint.command) <= column and _aligned_width(column, hint) <= width:
            command = escape(hint.command.ljust(column))
            console.print(f"  {command}   [dim]# {comment}[/]", soft_wrap=True)
            continue
        console.print(f"  [dim]# {comment}[/]", soft_wrap=True)
        for line in command_lines(hint.command, width - 2):
            console.print(Text(f"  {line}"), soft_wrap=True)  # Text: a trailing \ is no markup


def _aligned_width(column: int, hint: Hint) -> int:
    return 2 + max(column, len(hint.command)) + 5 + len(hint.comment)


def command_lines(command: str, width: int) -> list[str]:
    """A shell command in lines of at most ``width`` characters, broken before an option (an
    option stays with its value) with a trailing `` \\``; continuations are indented."""
    groups: list[str] = []
    for word in command.split(" "):
        if groups and not word.startswith("-"):
            groups[-1] += " " + word
        else:
            groups.append(word)
    lines: list[str] = []
    line = groups[0]
    for number, group in enumerate(groups[1:], start=2):
        room = 0 if number == len(groups) else 2  # for the " \\" of a line that goes on
        if len(line) + 1 + len(group) + room <= width:
            line += " " + group
        else:
            lines.append(line + " \\")
            line = "    " + group
    return [*lines, line]
