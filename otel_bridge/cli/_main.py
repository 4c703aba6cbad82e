"""The ``otel-bridge`` command: a thin layer over the public functions."""

from __future__ import annotations

import json
import sys

import click

from ..collector import TOKEN_ENV
from ..derivation import derive_all
from ..errors import OtelBridgeError
from ..report import render_summary
from ..sources import SOURCE_KINDS, load_spans
from ..spans import format_trace_id
from ._collector import collector
from ._demo import demo

__all__ = ["main"]


class _Group(click.Group):
    """Turns our errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OtelBridgeError as exc:
            click.echo(f"otel-bridge: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="otel-bridge")
def main() -> None:
    """Evaluation data from the OpenTelemetry spans of LlamaIndex agents."""


@main.command()
@click.argument("source")
@click.option("--trace-id", help="Only this trace (32 hex characters); required for URLs.")
@click.option(
    "--kind",
    type=click.Choice(SOURCE_KINDS),
    help="Source type of a plain URL (instead of a 'phoenix+' / 'jaeger+' prefix).",
)
@click.option("--project", help="Phoenix project (default: 'default', or the URL's last part).")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True, help="Bearer token for a URL source.")
@click.option("--json", "as_json", is_flag=True, help="Print RunTrace JSON.")
@click.option("--messages", is_flag=True, help="Also list the messages (summary view).")
def derive(
    source: str,
    trace_id: str | None,
    kind: str | None,
    project: str | None,
    token: str | None,
    as_json: bool,
    messages: bool,
) -> None:
    """Derive RunTraces from SOURCE: an OTLP/JSON file or a URL.

    \b
    run.otlp.json                        OTLP/JSON file (every trace, or --trace-id)
    http://127.0.0.1:4318                otel-bridge collector (needs --trace-id)
    phoenix+http://127.0.0.1:6006/PROJ   Arize Phoenix REST API, project PROJ
    jaeger+http://127.0.0.1:16686        Jaeger query (API v3, else the legacy API)
    jaeger-legacy+http://HOST:16686      Jaeger's legacy /api/traces only
    """
    spans = load_spans(source, trace_id, project=project, token=token, kind=kind)
    traces = derive_all(spans)
    if trace_id is not None:
        wanted = format_trace_id(trace_id)
        traces = [t for t in traces if t.trace_id == wanted]
        if not traces:
            raise OtelBridgeError(f"no trace {trace_id} in {source}")
    if as_json:
        data = traces[0].to_dict() if trace_id else [t.to_dict() for t in traces]
        click.echo(json.dumps(data, indent=2))
    else:
        render_summary(traces, messages=messages)


main.add_command(demo)
main.add_command(collector)

if __name__ == "__main__":
    main()
