"""``otel-bridge ui SOURCE``: the web UI, read-only, over any span source or an export."""

from __future__ import annotations

import signal
import threading
from contextlib import nullcontext
from types import FrameType

import click

from ..collector import TOKEN_ENV
from ..sources import SOURCE_KINDS, SpanSource, open_source
from ..tables import is_export
from ..ui import ExportReader, SourceReader, SourceUI
from ._options import SOURCES_HELP

__all__ = ["DEFAULT_UI_PORT", "UI_TOKEN_ENV", "ui"]

UI_TOKEN_ENV = "OTEL_BRIDGE_UI_TOKEN"
DEFAULT_UI_PORT = 4320


@click.command("ui", epilog=SOURCES_HELP, context_settings={"show_default": True})
@click.argument("source")
@click.option(
    "--host",
    default="127.0.0.1",
    help="Address to listen on (loopback only unless --allow-remote).",
)
@click.option(
    "--port", default=DEFAULT_UI_PORT, type=click.IntRange(0, 65535), help="Port (0: a free port)."
)
@click.option(
    "--token",
    envvar=UI_TOKEN_ENV,
    show_envvar=True,
    help="Ask browsers for this token (a form, then a cookie) and API clients for "
    "'Authorization: Bearer TOKEN'.",
)
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (use a token).")
@click.option(
    "--kind",
    type=click.Choice(SOURCE_KINDS),
    help="Source type of a plain URL (instead of a 'phoenix+' / 'jaeger+' prefix).",
)
@click.option("--project", help="Phoenix project (default: the URL's last part, or 'default').")
@click.option("--service", help="Jaeger service to search (default: every service).")
@click.option(
    "--source-token", envvar=TOKEN_ENV, show_envvar=True, help="Bearer token for a URL source."
)
def ui(
    source: str,
    host: str,
    port: int,
    token: str | None,
    allow_remote: bool,
    kind: str | None,
    project: str | None,
    service: str | None,
    source_token: str | None,
) -> None:
    """Show the runs of a source in the browser, read-only, until Ctrl-C.

    The same pages as the collector's web UI (runs, a run, a session, diff,
    compare) and the same query API, over an OTLP file or a file exporter's folder,
    an export directory (`otel-bridge export`), Phoenix, Jaeger or another
    collector. Nothing is written anywhere.
    """
    opened: SpanSource | None = None
    reader: SourceReader
    if is_export(source):
        reader = ExportReader(source)  # the runs' tables: no spans to open
    else:
        opened = open_source(
            source, kind=kind, project=project, service=service, token=source_token
        )
        reader = SourceReader(opened)
    with opened if opened is not None else nullcontext():
        runs = reader.check()  # an unreadable source fails here, in one line
        stop = threading.Event()

        def handle(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with SourceUI(opened, host, port, token, allow_remote, reader) as served:
                click.echo(f"otel-bridge ui ready: {runs} run(s) of {reader.describe()}", err=True)
                click.echo(f"Web UI: {served.url}/ (read-only; Ctrl-C stops it)", err=True)
                stop.wait()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
    click.echo("otel-bridge ui stopped", err=True)
