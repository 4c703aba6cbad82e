"""Errors raised by otel-bridge: one tree, all of it here.

```
OtelBridgeError                  every error the package raises on purpose
├── ConfigError (ValueError)     settings that cannot work: a protocol, a header string, a port,
│   │                            a semconv, a limit below 1, an agent the adapter cannot run
│   └── FrameworkNotInstalled    a framework asked for by name whose packages are missing
├── TraceIdError (ValueError)    text that is not a trace or span id
├── SpanFormatError (ValueError) input that is not the span format it claims to be: a wrong
│   │                            file, malformed OTLP/JSON or protobuf, an SDK span without a
│   │                            context
│   └── JsonTooDeep              JSON in an attribute nested deeper than the bound (derive
│                                keeps the text and notes it: never raised out of derive)
├── SourceError                  a span source that cannot be read: a missing file, an
│                                unreachable or failing backend, an unknown trace or project
├── TraceSelectionError          derive(): the spans hold no such trace, or several traces
│   (ValueError)                 and none was chosen
├── RequestError                 the collector refuses what a client asked (a 4xx answer):
│   ├── BodyTooLarge             a body, or what it decompresses to, over the limit (413)
│   ├── BodyTimeout              a body that stalled or took too long (408)
│   ├── BadParameter (ValueError) a query API parameter or cursor it cannot use (400)
│   └── RunTooLarge              a trace beyond the run limits: not derived there (422)
├── StoreError                   the collector's store cannot take or serve spans (closed,
│                                disk full): a fault of the server, never of the client
├── QueueFull                    the collector's write queue is full: retry later
├── ServerError (RuntimeError)   one of our servers (collector, scripted model) used out of
│                                turn (started twice, asked its address while stopped) or not
│                                started in time; a Telemetry used after shutdown
└── ScriptError (ValueError)     the scripted model was misused or ran out of replies
```

Third-party errors are translated at the boundary with ``raise ... from exc``. The ValueError
(and RuntimeError) mixins keep ``except ValueError`` working where a caller passed a wrong value
(and ``except RuntimeError`` where a server was used out of turn). Errors of the operating
system (``OSError``: a port taken, a file that cannot be written) pass through as they are, with
the address or path in their message. Outside input quoted in a message goes through
``otel_bridge.spans.printable``: short, and safe to print and send as UTF-8.

The contract, whatever the input (a hostile producer's spans included):

- ``derive()``, ``derive_all()``, ``load_spans()`` and every span source raise only the
  errors above; malformed values inside spans never raise at all: they are coerced or dropped
  and the RunTrace's ``issues`` says so.
- The embedded collector answers 4xx to anything a client can send, and 5xx (503, gRPC
  UNAVAILABLE) only for its own faults: a closed store, a full disk (``otel_bridge.collector``).
"""

from __future__ import annotations

__all__ = [
    "BadParameter",
    "BodyTimeout",
    "BodyTooLarge",
    "ConfigError",
    "FrameworkNotInstalled",
    "JsonTooDeep",
    "OtelBridgeError",
    "QueueFull",
    "RequestError",
    "RunTooLarge",
    "ScriptError",
    "ServerError",
    "SourceError",
    "SpanFormatError",
    "StoreError",
    "TraceIdError",
    "TraceSelectionError",
]


class OtelBridgeError(Exception):
    """Base class of every error otel-bridge raises on purpose."""


class ConfigError(OtelBridgeError, ValueError):
    """Settings that cannot work."""


class FrameworkNotInstalled(ConfigError):
    """A framework was asked for by name but its packages (its otel-bridge extra) are missing."""


class TraceIdError(OtelBridgeError, ValueError):
    """Text that is not a trace id (or span id)."""


class SpanFormatError(OtelBridgeError, ValueError):
    """Input is not valid span data of the format it claims to be."""


class JsonTooDeep(SpanFormatError):
    """JSON nested deeper than ``conventions.MAX_JSON_DEPTH`` levels."""


class SourceError(OtelBridgeError):
    """A span source cannot be read."""


class TraceSelectionError(OtelBridgeError, ValueError):
    """``derive()`` cannot pick the trace: it is not among the spans, or none was chosen."""


class RequestError(OtelBridgeError):
    """The collector refuses a client's request (its answer is a 4xx)."""


class BodyTooLarge(RequestError):
    """The request body (or what it decompresses to) exceeds the configured limit."""


class BodyTimeout(RequestError):
    """The body stalled for longer than the read timeout, or took longer than the body timeout."""


class BadParameter(RequestError, ValueError):
    """A query API parameter (or cursor) that cannot be used."""


class RunTooLarge(RequestError):
    """The trace is beyond the collector's run limits: it is not derived there."""


class StoreError(OtelBridgeError):
    """The collector's store cannot take or serve spans (closed, disk full)."""


class QueueFull(OtelBridgeError):
    """The collector's write queue is full; the client should retry later."""


class ServerError(OtelBridgeError, RuntimeError):
    """A server of ours used out of turn or not started in time; a Telemetry after shutdown."""


class ScriptError(OtelBridgeError, ValueError):
    """A scripted model was misused or ran out of replies."""
