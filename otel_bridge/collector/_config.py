"""CollectorConfig: every setting of the embedded collector, checked once.

Loopback only unless ``allow_remote``: the collector stores prompts and answers, so it must not
listen on a network interface by accident. A token, when set, guards ingest and queries alike.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigError

__all__ = [
    "DEFAULT_GRPC_PORT",
    "DEFAULT_HOST",
    "DEFAULT_HTTP_PORT",
    "TOKEN_ENV",
    "CollectorConfig",
    "Synchronous",
    "check_token",
    "is_loopback",
]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4318
DEFAULT_GRPC_PORT = 4317
TOKEN_ENV = "OTEL_BRIDGE_COLLECTOR_TOKEN"
MIB = 1024 * 1024

Synchronous = Literal["NORMAL", "FULL"]


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8, ``::1`` and IPv4-mapped loopback addresses."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False  # a wildcard ("", "*") or a host name that may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@dataclass(frozen=True)
class CollectorConfig:
    """Where to listen and store, and the limits that keep the server alive under bad input.

    Port 0 picks a free port (read it back from ``Collector.http_port``/``grpc_port``); None
    disables that receiver. ``synchronous`` is SQLite's: with FULL (the default) an acknowledged
    request survives a crash of the process, of the OS and a power loss (one fsync per
    transaction, shared by every request in it); NORMAL survives a crash of the process only,
    for ~15% more throughput (benchmarks/README.md).

    What one client can hold: a connection gets ``header_timeout_s`` to send a request's
    headers; a body may pause at most ``read_timeout_s`` between chunks and must be complete
    within ``body_timeout_s`` (else 408, and the connection is closed); one remote address
    may have ``max_uploads_per_client`` exports in progress at once, HTTP and gRPC together
    (the next gets 429 / RESOURCE_EXHAUSTED with a retry delay). What one query can cost:
    ``/api/traces/{id}/run`` derives traces of at most ``max_run_spans`` spans and
    ``max_run_depth`` levels of parents (else 422; the spans stay readable).
    """

    db_path: str | Path = "otel-bridge-spans.db"
    host: str = DEFAULT_HOST
    http_port: int | None = DEFAULT_HTTP_PORT
    grpc_port: int | None = DEFAULT_GRPC_PORT
    token: str | None = None
    allow_remote: bool = False
    max_body_bytes: int = 20 * MIB  # OTLP's recommended limit, before and after gunzip
    max_pending_bytes: int = 64 * MIB  # decoded spans waiting for the writer
    max_batch_spans: int = 8192  # spans per SQLite transaction
    retry_after_s: int = 1
    synchronous: Synchronous = "FULL"
    grpc_workers: int = 8
    prepare_runs: bool = True  # derive ended runs ahead of the first request (runs.py)
    header_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    body_timeout_s: float = 60.0  # 20 MiB at ~350 KB/s
    max_uploads_per_client: int = 16  # an SDK exporter sends one request at a time
    max_run_spans: int = 50_000  # ~0.6 s of derivation (benchmarks/README.md)
    max_run_depth: int = 1_000  # agent traces nest a few dozen levels deep

    def __post_init__(self) -> None:
        for name in ("http_port", "grpc_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                raise ConfigError(f"{name} must be 0..65535, got {port}")
        if self.http_port is None and self.grpc_port is None:
            raise ConfigError("enable at least one receiver (HTTP or gRPC)")
        if self.token is not None:
            check_token(self.token)
        for name in (
            "max_body_bytes",
            "max_pending_bytes",
            "max_batch_spans",
            "grpc_workers",
            "max_uploads_per_client",
            "max_run_spans",
            "max_run_depth",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        for name in ("header_timeout_s", "read_timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:  # not "<= 0": NaN is refused too
                raise ConfigError(f"{name} must be more than 0 seconds")
        if self.retry_after_s < 0:
            raise ConfigError("retry_after_s must not be negative")
        if self.synchronous not in ("NORMAL", "FULL"):
            raise ConfigError(f"synchronous must be NORMAL or FULL, got {self.synchronous!r}")
        if not is_loopback(self.host):
            if not self.allow_remote:
                raise ConfigError(
                    f"refusing to listen on {self.host!r}: not a loopback address. The collector "
                    "stores prompts and answers; pass allow_remote=True (--allow-remote) to "
                    "listen on a network interface, preferably with a token"
                )
            logger.warning(
                "otel-bridge collector: listening on %s, reachable from the network%s",
                self.host,
                "" if self.token else " WITHOUT a token: anyone can read and write spans",
            )


def check_token(token: str) -> None:
    """A token that an ``Authorization`` header can carry, or ConfigError (never echoing it)."""
    if not token.strip():
        raise ConfigError("the token must not be empty")
    for position, char in enumerate(token, 1):
        if not "!" <= char <= "~":  # printable ASCII, no space: what a header value carries
            what = "a space" if char == " " else f"character U+{ord(char):04X}"
            raise ConfigError(
                f"the token holds {what} at position {position}: an Authorization header "
                "carries printable ASCII only, so no client could ever send it"
            )
