"""``otel-bridge collector``: run the embedded collector."""

from __future__ import annotations

import errno

import click

from ..collector import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    TOKEN_ENV,
    Collector,
    CollectorConfig,
    serve,
)
from ..errors import ConfigError
from ..ui import collector_ui

__all__ = ["collector"]


@click.group()
def collector() -> None:
    """The embedded OTLP collector (HTTP + gRPC in, SQLite, query API, web UI)."""


@collector.command("serve", context_settings={"show_default": True})
@click.option(
    "--db",
    "db_path",
    default="otel-bridge-spans.db",
    type=click.Path(dir_okay=False),
    help="SQLite database file (WAL); missing parent directories are created.",
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    help="Address to listen on. Loopback only unless --allow-remote.",
)
@click.option(
    "--http-port",
    default=DEFAULT_HTTP_PORT,
    type=int,
    help="OTLP/HTTP and query API port (0: a free port).",
)
@click.option(
    "--grpc-port",
    default=DEFAULT_GRPC_PORT,
    type=int,
    help="OTLP/gRPC port (0: a free port).",
)
@click.option("--no-grpc", is_flag=True, help="Do not start the gRPC receiver.")
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    help="Require 'Authorization: Bearer TOKEN' on every request.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (the spans hold prompts: use a token).",
)
@click.option(
    "--max-body-mib",
    default=20,
    type=click.IntRange(1),
    help="Largest request body, before and after gunzip.",
)
@click.option(
    "--max-pending-mib",
    default=64,
    type=click.IntRange(1),
    help="Spans waiting for the database, in MiB of their size; beyond it exports get 429 / "
    "RESOURCE_EXHAUSTED with a retry delay.",
)
@click.option(
    "--synchronous",
    type=click.Choice(["FULL", "NORMAL"]),
    default="FULL",
    help="SQLite synchronous mode: with FULL an acked request survives a power loss (an "
    "fsync per transaction); NORMAL only a crash of the collector, and is a little faster.",
)
@click.option(
    "--no-prepare-runs",
    is_flag=True,
    help="Do not derive ended runs in the background (each is derived when first asked for).",
)
@click.option(
    "--read-timeout",
    default=10.0,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a client may take to send a request's headers, or pause inside a body "
    "(then 408 and the connection is closed).",
)
@click.option(
    "--body-timeout",
    default=60.0,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a client may take to send a whole body (then 408).",
)
@click.option(
    "--max-client-uploads",
    default=16,
    type=click.IntRange(1),
    help="Exports in progress at once per client address, HTTP and gRPC together "
    "(then 429 / RESOURCE_EXHAUSTED with a retry delay).",
)
@click.option(
    "--max-run-spans",
    default=50_000,
    type=click.IntRange(1),
    help="Largest trace that /api/traces/{id}/run derives (then 422; its spans stay readable).",
)
@click.option(
    "--max-run-depth",
    default=1_000,
    type=click.IntRange(1),
    help="Deepest chain of parent spans that /api/traces/{id}/run derives (then 422).",
)
def serve_command(
    db_path: str,
    host: str,
    http_port: int,
    grpc_port: int,
    no_grpc: bool,
    token: str | None,
    allow_remote: bool,
    max_body_mib: int,
    max_pending_mib: int,
    synchronous: str,
    no_prepare_runs: bool,
    read_timeout: float,
    body_timeout: float,
    max_client_uploads: int,
    max_run_spans: int,
    max_run_depth: int,
) -> None:
    """Receive OTLP traces, store them and show them (web UI at /) until Ctrl-C.

    \b
    OTLP/HTTP  POST /v1/traces             protobuf or JSON, gzip allowed
    OTLP/gRPC  TraceService/Export
    Query API  GET /api/traces?status=&agent=&q=&session=&start=&limit=&cursor=
               GET /api/traces/{trace_id}/spans  OTLP/JSON (protobuf by Accept)
               GET /api/traces/{trace_id}/run    derived RunTrace JSON
               and more: the README's "Query API"
    Web UI     GET /  runs, a run, a session, diff, compare; live
    Read a run back with: otel-bridge derive http://HOST:HTTP_PORT --trace-id ID
    """
    config = CollectorConfig(
        db_path=db_path,
        host=host,
        http_port=http_port,
        grpc_port=None if no_grpc else grpc_port,
        token=token,
        allow_remote=allow_remote,
        max_body_bytes=max_body_mib * 1024 * 1024,
        max_pending_bytes=max_pending_mib * 1024 * 1024,
        synchronous="NORMAL" if synchronous == "NORMAL" else "FULL",
        prepare_runs=not no_prepare_runs,
        header_timeout_s=read_timeout,
        read_timeout_s=read_timeout,
        body_timeout_s=body_timeout,
        max_uploads_per_client=max_client_uploads,
        max_run_spans=max_run_spans,
        max_run_depth=max_run_depth,
    )

    def ready(running: Collector) -> None:
        lines = [*running.endpoints(), ("Web UI", f"{running.http_url}/")]
        width = max(len(label) for label, _ in lines)
        click.echo(f"otel-bridge collector ready ({running.access})", err=True)
        for label, value in lines:
            click.echo(f"  {label:<{width}}  {value}", err=True)

    try:
        serve(config, on_ready=ready, extension=collector_ui)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{_port_hint(exc)}") from exc
    click.echo("otel-bridge collector stopped", err=True)


def _port_hint(error: BaseException) -> str:
    """What to do when a receiver's port is taken (Phoenix's gRPC receiver also uses 4317)."""
    cause: BaseException | None = error
    while cause is not None and not (isinstance(cause, OSError) and cause.errno):
        cause = cause.__cause__
    if cause is None or cause.errno != errno.EADDRINUSE:
        return ""
    if "OTLP/gRPC" in str(error):
        return (
            "\nAnother program holds the port (Phoenix's gRPC receiver uses 4317 too)."
            "\nChoose another with --grpc-port PORT, or run without gRPC: --no-grpc"
        )
    return "\nAnother program holds the port. Choose another with --http-port PORT"
