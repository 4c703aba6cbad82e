"""A real Arize Phoenix server for tests: loopback only, started and stopped by its own pid.

``PhoenixServer`` runs ``phoenix serve`` through ``tests/support/phoenix_launch.py`` (which binds
Phoenix's gRPC listener to 127.0.0.1) with the interpreter that has arize-phoenix installed,
usually a separate virtualenv: arize-phoenix 20.x pulls openai>=3, which the project's
llama-index-llms-openai (openai<3) cannot use. See tests/PHOENIX.md.

Reading spans back: ``fetch_spans`` polls ``GET /v1/projects/{project}/spans`` (Phoenix JSON) or
``.../spans/otlpv1`` (OTLP-like JSON), follows ``next_cursor`` pages, and waits until the trace
has the expected number of spans (the project is 404 until its first span is stored).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx

from otel_bridge.spans import SpanEvent, SpanRecord

PHOENIX_PYTHON_ENV = "OTEL_BRIDGE_PHOENIX_PYTHON"
REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).resolve().with_name("phoenix_launch.py")
DEFAULT_PROJECT = "otel-bridge-test"
LOOPBACK = "127.0.0.1"
MAX_PAGE_SIZE = 1000  # the REST API's upper bound for ``limit``

Variant = Literal["phoenix", "otlpv1"]


class PhoenixStartError(RuntimeError):
    """Phoenix exited or did not become healthy in time; the message ends with its log."""


def find_phoenix_python() -> str | None:
    """The interpreter to run Phoenix with, or None when there is none on this machine.

    Order: ``$OTEL_BRIDGE_PHOENIX_PYTHON`` (must work when set), then ``.venv-phoenix/bin/python``
    next to the repository, then the current interpreter if it has ``phoenix.server``.
    """
    configured = os.environ.get(PHOENIX_PYTHON_ENV)
    if configured:
        if shutil.which(configured) is None:
            raise FileNotFoundError(f"{PHOENIX_PYTHON_ENV}={configured!r} is not an executable")
        return configured
    sibling = REPO_ROOT / ".venv-phoenix" / "bin" / "python"
    if sibling.exists():
        return str(sibling)
    spec = find_spec("phoenix")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "server" / "main.py").exists():
                return sys.executable
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (``::ffff:127.0.0.1``)."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False  # "*" and other wildcards
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _process_tree(pid: int) -> set[int]:
    """``pid`` and all its live descendants (from /proc)."""
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        tree.add(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue  # the task ended while we looked
    return tree


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(host, port) of every listening TCP socket of ``pid`` and its children, from ``ss -ltnp``."""
    pids = _process_tree(pid)
    output = subprocess.run(
        ["ss", "-H", "-l", "-t", "-n", "-p"], check=True, capture_output=True, text=True
    ).stdout
    found = []
    for line in output.splitlines():
        fields = line.split()
        owners = {int(owner) for owner in re.findall(r"pid=(\d+)", line)}
        if len(fields) < 4 or not owners & pids:
            continue
        host, _, port = fields[3].rpartition(":")
        found.append((host.strip("[]"), int(port)))
    return found


class PhoenixServer:
    """``phoenix serve`` on 127.0.0.1 with free HTTP and gRPC ports and a private working dir."""

    def __init__(
        self,
        python: str,
        workdir: Path,
        project: str = DEFAULT_PROJECT,
        startup_timeout: float = 60.0,
    ) -> None:
        self.python = python
        self.workdir = Path(workdir)
        self.project = project
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.grpc_port = free_port()
        self.log_path = self.workdir / "phoenix.log"
        self.startup_s: float | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def http_endpoint(self) -> str:
        """Base URL of the UI and REST API, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint for ``OTLPSpanExporter(endpoint=..., insecure=True)``."""
        return f"http://{LOOPBACK}:{self.grpc_port}"

    @property
    def otlp_http_traces_url(self) -> str:
        """OTLP/HTTP (protobuf only) traces URL."""
        return f"{self.http_endpoint}/v1/traces"

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self._process is None:
            raise RuntimeError("Phoenix is not running")
        return self._process.pid

    def environment(self) -> dict[str, str]:
        """The child's environment: ours without OTEL_*/PHOENIX_*, plus the test settings."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OTEL_", "PHOENIX_"))
        }
        env.update(
            PHOENIX_HOST=LOOPBACK,
            PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_DISABLE_AGENT_ASSISTANT="true",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            PHOENIX_LOG_MIGRATIONS="false",  # ~200 KB of SQL per start otherwise
        )
        return env

    def start(self) -> PhoenixServer:
        """Start Phoenix and wait until ``GET /healthz`` is 200 (gRPC is up by then too)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [self.python, str(LAUNCHER), "serve"],
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() can reach any children
            )
        try:
            self._wait_healthy(started + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        return self

    def _wait_healthy(self, deadline: float) -> None:
        assert self._process is not None
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise PhoenixStartError(
                        f"Phoenix exited with {self._process.returncode}\n{self.log_tail()}"
                    )
                try:
                    if client.get(f"{self.http_endpoint}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(0.2)
        raise PhoenixStartError(
            f"Phoenix not healthy after {self.startup_timeout:.0f} s\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate by pid, wait, kill if needed; then kill what is left of its process group."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        # The group is ours (start_new_session=True); it is usually empty by now.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def listening_sockets(self) -> list[tuple[str, int]]:
        """(host, port) of every TCP socket the server process tree listens on."""
        return listening_sockets(self.pid)

    def fetch_spans(
        self,
        trace_id: str,
        *,
        variant: Variant = "phoenix",
        min_spans: int = 1,
        timeout: float = 30.0,
        project: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """Every span of ``trace_id`` in this server's project; see the module function."""
        return fetch_spans(
            self.http_endpoint,
            project or self.project,
            trace_id,
            variant=variant,
            min_spans=min_spans,
            timeout=timeout,
            page_size=page_size,
        )


def spans_url(http_endpoint: str, project: str, variant: Variant = "phoenix") -> str:
    """REST URL listing a project's spans in the given JSON variant."""
    suffix = "/otlpv1" if variant == "otlpv1" else ""
    return f"{http_endpoint}/v1/projects/{quote(project, safe='')}/spans{suffix}"


def fetch_span_pages(
    client: httpx.Client, url: str, params: dict[str, Any], page_size: int = MAX_PAGE_SIZE
) -> list[dict[str, Any]] | None:
    """All pages of one query (newest first), or None while the project does not exist."""
    spans: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "limit": page_size} | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params=page_params)
        if response.status_code == 404:
            return None  # "Project with name ... not found": no span stored yet
        response.raise_for_status()
        body = response.json()
        spans.extend(body["data"])
        cursor = body.get("next_cursor")
        if not cursor:
            return spans


def fetch_spans(
    http_endpoint: str,
    project: str,
    trace_id: str,
    *,
    variant: Variant = "phoenix",
    min_spans: int = 1,
    timeout: float = 30.0,
    page_size: int = MAX_PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Poll until at least ``min_spans`` spans of ``trace_id`` are stored, then return them all.

    Spans are stored asynchronously after the export call returns, so a reader must wait.
    """
    url = spans_url(http_endpoint, project, variant)
    deadline = time.monotonic() + timeout
    seen = None
    with httpx.Client(timeout=10.0) as client:
        while True:
            seen = fetch_span_pages(client, url, {"trace_id": trace_id}, page_size)
            if seen is not None and len(seen) >= min_spans:
                return seen
            if time.monotonic() >= deadline:
                count = "project not found" if seen is None else f"{len(seen)} span(s)"
                raise TimeoutError(
                    f"{url}?trace_id={trace_id}: {count} after {timeout:.0f} s, wanted {min_spans}"
                )
            time.sleep(0.1)


def as_phoenix_stores(spans: Sequence[SpanRecord]) -> list[SpanRecord]:
    """The spans with their times as Phoenix keeps them: microseconds, through a float.

    Phoenix decodes ``datetime.fromtimestamp(ns / 1e9)`` on ingest and serves
    ``int(datetime.timestamp() * 1e9)`` back (in Phoenix's OTLP decoding); applying the same to the
    spans we sent gives exactly the times that come back.
    """

    def stored(ns: int) -> int:
        return int(datetime.fromtimestamp(ns / 1e9, tz=UTC).timestamp() * 1e9)

    return [
        dataclasses.replace(
            s,
            start_ns=stored(s.start_ns),
            end_ns=stored(s.end_ns),
            events=tuple(SpanEvent(e.name, stored(e.time_ns), e.attributes) for e in s.events),
        )
        for s in spans
    ]
