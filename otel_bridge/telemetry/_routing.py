"""One process-wide instrumentation per agent framework, routing each trace to its Telemetry.

The frameworks' instrumentors are singletons (``LlamaIndexInstrumentor``: a second
``instrument(tracer_provider=...)`` is ignored). So each is instrumented once, on a routing
provider whose tracer starts every span on the tracer provider of the Telemetry that owns the
trace: the parent span's owner, else the Telemetry activated in the current context, else the
most recently opened one, else the global provider. Which instrumentor each framework needs is
the framework's to say (``frameworks``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import import_module
from typing import Any, Protocol

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from ..errors import FrameworkNotInstalled
from ..frameworks import Framework

__all__ = [
    "Owner",
    "OwnerRegistrar",
    "activated",
    "ensure_instrumented",
    "register_live",
    "unregister",
]

logger = logging.getLogger(__name__)


class Owner(Protocol):
    """What routing needs of a Telemetry: its provider, and whether it was shut down."""

    @property
    def provider(self) -> trace_api.TracerProvider:
        """The provider that starts the owned traces' spans."""
        ...

    @property
    def closed(self) -> bool:
        """True once shut down: it owns no new spans."""
        ...


MAX_OWNED_TRACES = 100_000

_active: ContextVar[Owner | None] = ContextVar("otel_bridge_telemetry", default=None)
_lock = threading.Lock()
_live: list[weakref.ref[Owner]] = []
_owners: OrderedDict[int, weakref.ref[Owner]] = OrderedDict()
_instrumented: set[str] = set()  # names of the frameworks instrumented in this process


def register_live(telemetry: Owner) -> None:
    """Make a Telemetry a candidate owner for new traces."""
    with _lock:
        _live.append(weakref.ref(telemetry))


def unregister(telemetry: Owner) -> None:
    """Remove a Telemetry that shut down."""
    with _lock:
        _live[:] = [r for r in _live if r() not in (None, telemetry)]


def own(trace_id: int, telemetry: Owner) -> None:
    """Record which Telemetry owns a trace."""
    if trace_id in _owners:  # every span of a trace after its first: no lock needed to see it
        return
    with _lock:
        if trace_id not in _owners:
            _owners[trace_id] = weakref.ref(telemetry)
            if len(_owners) > MAX_OWNED_TRACES:
                _owners.popitem(last=False)


@contextmanager
def activated(telemetry: Owner) -> Iterator[None]:
    """Route new traces started in this context to ``telemetry``."""
    token = _active.set(telemetry)
    try:
        yield
    finally:
        _active.reset(token)


class OwnerRegistrar(SpanProcessor):
    """Processor on each Telemetry's provider: every span started there marks its trace owned."""

    def __init__(self, telemetry: Owner) -> None:
        self._telemetry = weakref.ref(telemetry)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Mark the span's trace as owned by this Telemetry."""
        telemetry = self._telemetry()
        if telemetry is not None and span.context is not None:
            own(span.context.trace_id, telemetry)

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing to do."""


def _owner(context: Context | None) -> Owner | None:
    parent = trace_api.get_current_span(context).get_span_context()
    with _lock:
        if parent.is_valid:
            ref = _owners.get(parent.trace_id)
            telemetry = ref() if ref is not None else None
            if telemetry is not None and not telemetry.closed:
                return telemetry
        active = _active.get()
        if active is not None and not active.closed:
            return active
        for ref in reversed(_live):
            telemetry = ref()
            if telemetry is not None and not telemetry.closed:
                return telemetry
    return None


class _RoutingTracer(trace_api.Tracer):
    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        self._name, self._version, self._schema_url = name, version, schema_url
        # One SDK tracer per provider: get_tracer builds a new one each time (~5 us a span).
        self._tracers: weakref.WeakKeyDictionary[Any, trace_api.Tracer] = (
            weakref.WeakKeyDictionary()
        )

    def _target(self, context: Context | None) -> trace_api.Tracer:
        telemetry = _owner(context)
        provider = telemetry.provider if telemetry is not None else trace_api.get_tracer_provider()
        tracer = self._tracers.get(provider)
        if tracer is None:
            tracer = provider.get_tracer(self._name, self._version, self._schema_url)
            self._tracers[provider] = tracer
        return tracer

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        """Start the span on the owning Telemetry's provider."""
        args = (kind, attributes, links, start_time, record_exception, set_status_on_exception)
        return self._target(context).start_span(name, context, *args)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace_api.Span]:
        """Start the span on the owning provider and make it current."""
        args = (kind, attributes, links, start_time, record_exception, set_status_on_exception)
        span = self.start_span(name, context, *args)
        with trace_api.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class _RoutingProvider(trace_api.TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace_api.Tracer:
        return _RoutingTracer(instrumenting_module_name, instrumenting_library_version, schema_url)


def ensure_instrumented(frameworks: Iterable[Framework]) -> None:
    """Instrument each framework once per process, on the routing provider.

    ``FrameworkNotInstalled`` for a framework whose packages are missing (the caller decides
    whether that is an error: it is when the framework was asked for by name).
    """
    for framework in frameworks:
        with _lock:
            if framework.name in _instrumented:
                continue
            spec = framework.instrumentation
            if spec is None:
                continue
            if not framework.installed():
                raise FrameworkNotInstalled(
                    f"{framework.title or framework.name} is not installed: "
                    f"pip install 'otel-bridge[{spec.extra}]'"
                )
            module, _, attr = spec.instrumentor.partition(":")
            instrumentor = getattr(import_module(module), attr)()
            if instrumentor.is_instrumented_by_opentelemetry:
                logger.warning(
                    "otel-bridge: %s was already instrumented; re-instrumenting so that each "
                    "Telemetry receives its runs (runs outside any Telemetry still go to the "
                    "global tracer provider).",
                    framework.title or framework.name,
                )
                instrumentor.uninstrument()
            instrumentor.instrument(tracer_provider=_RoutingProvider())
            _instrumented.add(framework.name)
