"""Errors raised by otel-bridge: one tree, all of it here.

```
OtelBridgeError                  every error the package raises on purpose
├── ConfigError (ValueError)     settings that cannot work: a protocol, a header string, a port
│   └── FrameworkNotInstalled    a framework asked for by name whose packages are missing
├── TraceIdError (ValueError)    text that is not a trace or span id
├── SpanFormatError (ValueError) input that is not the span format it claims to be: a wrong
│                                file, malformed OTLP/JSON or protobuf
├── SourceError                  a span source that cannot be read: a missing file, an
│                                unreachable or failing backend, an unknown trace or project
├── TraceSelectionError          derive(): the spans hold no such trace, or several traces
│   (ValueError)                 and none was chosen
├── StoreError                   the collector's store cannot take or serve spans (closed,
│                                disk full): a fault of the server, never of the client
├── QueueFull                    the collector's write queue is full: retry later
└── ScriptError (ValueError)     the scripted model was misused or ran out of replies
```

Third-party errors are translated at the boundary with ``raise ... from exc``. The ValueError
mixins keep ``except ValueError`` working where a caller passed a wrong value. Outside input
quoted in a message goes through ``otel_bridge.spans.printable``: short, and safe to print and
send as UTF-8.

The contract, whatever the input (a hostile producer's spans included):

- ``derive()``, ``derive_all()``, ``load_spans()`` and every span source raise only the
  errors above; malformed values inside spans never raise at all: they are coerced or dropped
  and the RunTrace's ``issues`` says so.
- The embedded collector answers 4xx to anything a client can send, and 5xx (503, gRPC
  UNAVAILABLE) only for its own faults: a closed store, a full disk (``otel_bridge.collector``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FrameworkNotInstalled",
    "OtelBridgeError",
    "QueueFull",
    "ScriptError",
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


class SourceError(OtelBridgeError):
    """A span source cannot be read."""


class TraceSelectionError(OtelBridgeError, ValueError):
    """``derive()`` cannot pick the trace: it is not among the spans, or none was chosen."""


class StoreError(OtelBridgeError):
    """The collector's store cannot take or serve spans (closed, disk full)."""


class QueueFull(OtelBridgeError):
    """The collector's write queue is full; the client should retry later."""


class ScriptError(OtelBridgeError, ValueError):
    """A scripted model was misused or ran out of replies."""
