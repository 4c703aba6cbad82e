"""``otel-bridge demo``: a real researcher -> writer AgentWorkflow, summarised and exported.

Offline by default: the built-in scripted OpenAI-compatible model serves the run on 127.0.0.1
through the real LlamaIndex OpenAI client. With ``--base-url`` or ``OPENAI_API_KEY`` the same
workflow talks to a real OpenAI-compatible endpoint. The spans go to an OTLP/JSON file
(overwritten on each run) and, with ``--otlp-endpoint``, to a collector, Jaeger or Phoenix, in
the conventions ``--semconv`` names. Each run is a session of its own (``session.id``, which
Phoenix lists under Sessions). An unreachable endpoint never fails the run: the data is derived
from memory and the failure is reported once, at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..errors import ConfigError
from ..report import render_summary, summary_console
from ..run_trace import RunTrace
from ..telemetry import PROTOCOLS, SEMCONVS, Protocol, Semconv, Telemetry
from ._demo_next import Backend, Hint, find_backends, hints_for, print_hints, receiver_text

if TYPE_CHECKING:
    from llama_index.core.agent.workflow import AgentWorkflow
    from llama_index.core.llms import LLM

__all__ = ["DemoOptions", "DemoResult", "demo", "openai_llm", "run_demo"]

DEFAULT_OUT = "run.otlp.json"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PROJECT = "otel-bridge-demo"
RUN_NAME = "otel-bridge demo"
# Loggers whose export-failure messages the demo replaces by its one notice at the end.
QUIET_LOGGERS = ("opentelemetry.sdk.trace.export", "otel_bridge.telemetry")
HELD_LOGGER = "opentelemetry.exporter"  # its errors still reach the Telemetry's failure reasons


@dataclass(frozen=True)
class DemoOptions:
    """Settings of one demo run; no ``base_url`` and no ``api_key`` means offline."""

    out: Path = Path(DEFAULT_OUT)
    otlp_endpoint: str | None = None
    protocol: Protocol = "http/protobuf"
    project: str = DEFAULT_PROJECT
    base_url: str | None = None
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    export_timeout_s: float = 5.0
    semconv: Semconv = "openinference"
    session_id: str | None = None  # None: a new one per run

    @property
    def offline(self) -> bool:
        """True when the built-in scripted model serves the run."""
        return self.base_url is None and self.api_key is None


@dataclass(frozen=True)
class DemoResult:
    """What one demo run produced."""

    answer: str | None
    error: BaseException | None
    trace: RunTrace | None
    out: Path
    export_errors: dict[str, str]
    session_id: str


def run_demo(options: DemoOptions, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run the demo workflow once under its own Telemetry, then derive it from memory."""
    from ..scripted import ScriptedLLMServer, demo_script, scripted_openai_llm

    report = progress or (lambda _text: None)
    report("starting the built-in model" if options.offline else "starting")
    _start_file(options.out)
    script = demo_script()
    session_id = options.session_id or new_session_id()
    telemetry = Telemetry(
        otlp_endpoint=options.otlp_endpoint,
        protocol=options.protocol,
        service_name="otel-bridge-demo",
        project_name=options.project,
        otlp_json_file=options.out,
        export_timeout_s=options.export_timeout_s,
        semconv=options.semconv,
    )
    server = None
    try:
        if options.offline:
            server = ScriptedLLMServer(script.router()).start()
        llm = (
            scripted_openai_llm(server, include_usage=True, model=options.model)
            if server is not None
            else openai_llm(options.model, options.base_url, options.api_key)
        )
        workflow = script.workflow(llm)
        result, trace_id = asyncio.run(
            _run(telemetry, workflow, script.user_msg, report, session_id)
        )
    finally:
        report("exporting the spans")
        telemetry.shutdown()  # flushes; each exporter's wait is bounded by export_timeout_s
        if server is not None:
            server.stop()
    trace = telemetry.run_trace(trace_id) if trace_id and telemetry.spans(trace_id) else None
    error = result if isinstance(result, BaseException) else None
    answer = None if error is not None else str(result)
    return DemoResult(answer, error, trace, options.out, telemetry.export_errors(), session_id)


def new_session_id() -> str:
    """A session id for one demo run."""
    return f"otel-bridge-demo-{uuid.uuid4().hex[:12]}"


async def _run(
    telemetry: Telemetry,
    workflow: AgentWorkflow,
    user_msg: str,
    report: Callable[[str], None],
    session_id: str,
) -> tuple[str | Exception, str]:
    """Run once inside a root span of ours; the answer (or the error) and the trace id.

    Every span of the run carries ``session.id``: ours directly, LlamaIndex's through
    OpenInference's ``using_attributes``.
    """
    from llama_index.core.agent.workflow import AgentInput, ToolCall, ToolCallResult
    from openinference.instrumentation import using_attributes

    trace_id = ""
    agent = "agent"
    attributes = {
        SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.CHAIN.value,
        SpanAttributes.SESSION_ID: session_id,
    }
    try:
        with (
            using_attributes(session_id=session_id),
            telemetry.start_run(RUN_NAME, attributes) as span,
        ):
            trace_id = f"{span.get_span_context().trace_id:032x}"
            handler = workflow.run(user_msg=user_msg)
            async for event in handler.stream_events():
                if isinstance(event, AgentInput):
                    agent = event.current_agent_name
                    report(f"{agent} is thinking")
                elif isinstance(event, ToolCall) and not isinstance(event, ToolCallResult):
                    if event.tool_name == "handoff":
                        report(f"{agent} hands off to {event.tool_kwargs.get('to_agent')}")
                    else:
                        report(f"{agent} calls {event.tool_name}")
            return str(await handler), trace_id
    except Exception as exc:  # shown with the summary; the spans are still exported
        return exc, trace_id


def openai_llm(model: str, base_url: str | None, api_key: str | None) -> LLM:
    """The LlamaIndex OpenAI LLM for a real endpoint, asking for token usage when streaming.

    A model name the client does not know (a local or proxied model) is taken as a chat model
    that can call tools, instead of failing on its unknown context size.
    """
    from llama_index.core.base.llms.types import LLMMetadata
    from llama_index.llms.openai import OpenAI

    class CompatibleOpenAI(OpenAI):
        @property
        def metadata(self) -> LLMMetadata:
            try:
                return super().metadata
            except ValueError:
                return LLMMetadata(
                    context_window=128_000,
                    num_output=self.max_tokens or -1,
                    is_chat_model=True,
                    is_function_calling_model=True,
                    model_name=self.model,
                )

    return CompatibleOpenAI(
        model=model,
        api_base=base_url,
        api_key=api_key or "unused",  # local OpenAI-compatible servers often need none
        additional_kwargs={"stream_options": {"include_usage": True}},
        timeout=120.0,
        max_retries=2,
    )


def _start_file(path: Path) -> None:
    """One run per file: an old file at ``path`` is replaced, not appended to."""
    if path.is_dir():
        raise ConfigError(f"--out {path} is a directory; give a file name")
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot replace {path}: {exc}") from exc


@contextmanager
def _quiet_export_logs() -> Iterator[None]:
    """Hold back export-failure logs (and retry chatter); the demo reports them once.

    The exporters' own loggers are kept from the console, not silenced: the Telemetry hears
    their reasons (a 401, an UNAUTHENTICATED) below them, and the demo says what to do.
    """
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    held, hold = logging.getLogger(HELD_LOGGER), logging.NullHandler()
    propagate = held.propagate
    held.propagate = False
    held.addHandler(hold)
    try:
        yield
    finally:
        held.removeHandler(hold)
        held.propagate = propagate
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _print_outcome(
    console: Console, result: DemoResult, options: DemoOptions, backends: list[Backend]
) -> None:
    if result.trace is not None:
        render_summary([result.trace], console=console, messages=True)
    out = str(result.out)
    lines = [
        f"Session [bold]{escape(result.session_id)}[/] (session.id).",
        f"Spans (OTLP/JSON, {options.semconv} conventions) written to [bold]{escape(out)}[/].",
    ]
    exported = bool(options.otlp_endpoint) and not result.export_errors
    if exported:
        lines.append(
            f"Spans exported to [bold]{escape(options.otlp_endpoint or '')}[/] "
            f"({options.protocol}): {escape(receiver_text(backends, options.project))}."
        )
    if options.offline and result.trace is not None and result.trace.cost is not None:
        lines.append(
            f"Cost: the scripted model's tokens priced at {escape(options.model)} rates (the "
            "built-in model itself costs nothing)."
        )
    for line in lines:
        say(console, line)
    hints = [
        Hint(f"otel-bridge report {out}", "run.html, a page of the run"),
        Hint(f"otel-bridge derive {out} --messages", "summary and conversation"),
        Hint(f"otel-bridge derive {out} --json", "the RunTrace as JSON"),
    ]
    if exported and result.trace is not None:
        hints += hints_for(backends, result.trace.trace_id, options.project)
    if not options.otlp_endpoint:
        hints.append(
            Hint(
                "otel-bridge demo --otlp-endpoint http://localhost:4318",
                "to Jaeger and Phoenix (docker compose up)",
            )
        )
    console.print("\nNext:")
    print_hints(console, hints)


def say(console: Console, markup: str) -> None:
    """A paragraph wrapped at spaces to the console's width, no line ending in a space (a path
    or URL stays whole on its line)."""
    for line in Text.from_markup(markup).wrap(console, console.width):
        line.rstrip()
        console.print(line, soft_wrap=True)


def _export_notice(result: DemoResult) -> str:
    failed = "; ".join(f"{target}: {error}" for target, error in result.export_errors.items())
    refused = any(
        "401" in error or "UNAUTHENTICATED" in error for error in result.export_errors.values()
    )
    question = (
        "The endpoint wants a token: set OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20TOKEN"
        " and run again."
        if refused
        else "Is a collector, Jaeger or Phoenix listening there?"
    )
    return (
        f"Export failed ({failed}). The run completed and its data is complete: the spans are "
        f"in {result.out}. {question}"
    )


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="OTLP/JSON file for the run's spans (replaced on each run; missing parent "
    "directories are created).",
)
@click.option(
    "--otlp-endpoint",
    envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
    help="Also export over OTLP, e.g. http://localhost:4318 (collector) or "
    "http://127.0.0.1:6006 (Phoenix).",
)
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOLS),
    default="http/protobuf",
    show_default=True,
    envvar="OTEL_EXPORTER_OTLP_PROTOCOL",
    help="OTLP protocol for --otlp-endpoint.",
)
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="Phoenix project.")
@click.option(
    "--base-url",
    help="A real OpenAI-compatible endpoint (e.g. http://localhost:11434/v1); "
    "OPENAI_API_KEY alone means OpenAI itself.",
)
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Model name.")
@click.option(
    "--offline", is_flag=True, help="Use the built-in model even if OPENAI_API_KEY is set."
)
@click.option(
    "--semconv",
    type=click.Choice(SEMCONVS),
    default="openinference",
    show_default=True,
    envvar="OTEL_BRIDGE_SEMCONV",
    help="What the exported spans speak: OpenInference, the OTel GenAI conventions, or both.",
)
@click.option(
    "--export-timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for an OTLP endpoint.",
)
def demo(
    out: Path,
    otlp_endpoint: str | None,
    protocol: Protocol,
    project: str,
    base_url: str | None,
    model: str,
    offline: bool,
    semconv: Semconv,
    export_timeout: float,
) -> None:
    """Run a two-agent AgentWorkflow (researcher -> writer), summarise it and export its spans."""
    api_key = None if offline else os.environ.get("OPENAI_API_KEY") or None
    options = DemoOptions(
        out=out,
        otlp_endpoint=otlp_endpoint or None,
        protocol=protocol,
        project=project,
        base_url=None if offline else base_url,
        api_key=api_key,
        model=model,
        export_timeout_s=export_timeout,
        semconv=semconv,
    )
    console, status_console = summary_console(), summary_console(stderr=True)
    where = (
        "the built-in scripted model (offline)"
        if options.offline
        else f"{model} at {base_url or 'OpenAI'}"
    )
    status_console.print(f"Running the researcher -> writer demo on {escape(where)}.")
    with _quiet_export_logs(), status_console.status("loading LlamaIndex") as status:
        result = run_demo(options, progress=lambda text: status.update(escape(text)))
        backends: list[Backend] = []
        if options.otlp_endpoint and not result.export_errors and result.trace is not None:
            status.update("asking the OTLP endpoint what it is")
            backends = find_backends(options.otlp_endpoint, options.protocol, options.project)
    _print_outcome(console, result, options, backends)
    if result.export_errors:
        say(status_console, f"[yellow]{escape(_export_notice(result))}[/]")
    if result.error is not None:
        raise click.ClickException(f"the demo run failed: {result.error}")
