"""The ``otel-bridge`` command: a thin layer over the public functions."""

from __future__ import annotations

import json
import sys

import click

from .demo import demo
from .derive import derive_all
from .errors import OtelBridgeError
from .report import render_summary
from .sources import load_spans

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
@click.option("--trace-id", help="Only this trace (32 hex characters).")
@click.option("--json", "as_json", is_flag=True, help="Print RunTrace JSON.")
@click.option("--messages", is_flag=True, help="Also list the messages (summary view).")
def derive(source: str, trace_id: str | None, as_json: bool, messages: bool) -> None:
    """Derive RunTraces from SOURCE (an OTLP/JSON file)."""
    traces = derive_all(load_spans(source))
    if trace_id is not None:
        wanted = trace_id.lower()
        traces = [t for t in traces if t.trace_id == wanted]
        if not traces:
            raise OtelBridgeError(f"no trace {trace_id} in {source}")
    if as_json:
        data = traces[0].to_dict() if trace_id else [t.to_dict() for t in traces]
        click.echo(json.dumps(data, indent=2))
    else:
        render_summary(traces, messages=messages)


main.add_command(demo)

if __name__ == "__main__":
    main()
