"""``collector serve`` on a port another program holds: one clear error that says what to do."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "otel_bridge.cli", "collector", "serve"]
    return subprocess.run(
        [*command, "--db", str(tmp_path / "spans.db"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_taken_grpc_port_names_the_port_and_the_options(tmp_path: Path, taken_port: int) -> None:
    done = serve(tmp_path, "--grpc-port", str(taken_port), "--http-port", "0")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"otel-bridge: error: cannot listen for OTLP/gRPC on 127.0.0.1:{taken_port}: "
        "[Errno 98] Address already in use",
        "Another program holds the port (Phoenix's gRPC receiver uses 4317 too).",
        "Choose another with --grpc-port PORT, or run without gRPC: --no-grpc",
    ]


def test_a_taken_http_port_names_the_port_and_the_option(tmp_path: Path, taken_port: int) -> None:
    done = serve(tmp_path, "--grpc-port", "0", "--http-port", str(taken_port))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "Another program holds the port. Choose another with --http-port PORT"
    )
    assert f"127.0.0.1:{taken_port}" in done.stderr
