"""Errors raised by otel-bridge.

``OtelBridgeError`` is the base of every error the package raises on purpose:

- ``SpanFormatError``: input that is not the span format it claims to be (a wrong file,
  malformed OTLP JSON or protobuf).
- ``SourceError``: a span source that cannot be read (a missing file, an unreachable or
  failing backend, an unknown trace id).
- ``ConfigError``: settings that cannot work (an unknown protocol, a bad header string).
- ``ScriptError`` (in ``scripted_llm``): a scripted model run out of replies or misused.

Third-party errors are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "OtelBridgeError", "SourceError", "SpanFormatError"]


class OtelBridgeError(Exception):
    """Base class of every error otel-bridge raises on purpose."""


class SpanFormatError(OtelBridgeError, ValueError):
    """Input is not valid span data of the format it claims to be."""


class SourceError(OtelBridgeError):
    """A span source cannot be read."""


class ConfigError(OtelBridgeError, ValueError):
    """Settings that cannot work."""
