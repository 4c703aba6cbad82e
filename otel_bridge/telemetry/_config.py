"""TelemetryConfig: every setting of a Telemetry, read once (from arguments or OTEL_* env)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from openinference.semconv.resource import ResourceAttributes
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME

from ..derivation import ModelPrice, check_price_table
from ..errors import ConfigError
from ..otlp import TRACES_PATH
from ._export_view import SEMCONVS, Semconv, check_semconv
from ._redaction import Redaction, compile_patterns

__all__ = [
    "PROTOCOLS",
    "SEMCONVS",
    "Protocol",
    "Semconv",
    "TelemetryConfig",
    "mask_patterns",
    "parse_key_values",
]

Protocol = Literal["http/protobuf", "grpc"]
PROTOCOLS: tuple[Protocol, ...] = ("http/protobuf", "grpc")


def parse_key_values(text: str, what: str) -> dict[str, str]:
    """Parse the OTEL ``key1=value1,key2=value2`` form (values URL-encoded)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what}: expected key=value, got {item.strip()!r}")
        out[unquote(key.strip())] = unquote(value.strip())
    return out


@dataclass(frozen=True)
class TelemetryConfig:
    """Settings of a Telemetry; ``otlp_endpoint`` None means no OTLP export."""

    otlp_endpoint: str | None = None
    protocol: Protocol = "http/protobuf"
    headers: Mapping[str, str] = field(default_factory=dict)
    service_name: str = "otel-bridge"
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    project_name: str | None = None
    otlp_json_file: str | None = None
    max_traces: int = 1000
    max_spans_per_trace: int = 20_000
    export_timeout_s: float = 5.0
    # How long run_trace() waits for a run's spans to reach the exporters (None: the export
    # timeout plus a second, so that a dead or silent endpoint is reported as export_failed).
    export_wait_s: float | None = None
    # The SDK keeps 128 attributes per span by default; an LLM span of a long conversation
    # carries several per message, and the oldest (model name, first messages) would go first.
    max_span_attributes: int = 100_000
    # What exported spans speak: OpenInference (as captured), the GenAI conventions, or both.
    semconv: Semconv = "openinference"
    # GenAI message content (gen_ai.input.messages, ...): None follows OpenInference's own
    # content settings (OPENINFERENCE_HIDE_*); True or False decides.
    genai_content: bool | None = None
    # A user's prices (model -> ModelPrice) over genai-prices' for the runs derived here.
    prices: Mapping[str, ModelPrice] | None = None
    # What this Telemetry hides (OpenInference's TraceConfig rules, and the GenAI names) and
    # the patterns it masks, in what it captures and exports (see _redaction).
    hide_inputs: bool = False
    hide_outputs: bool = False
    mask: tuple[re.Pattern[str], ...] = ()

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(
                f"unsupported OTLP protocol {self.protocol!r}; use one of {', '.join(PROTOCOLS)}"
            )
        if self.otlp_endpoint is not None:
            parts = urlsplit(self.otlp_endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"OTLP endpoint must be an http(s) URL, got {self.otlp_endpoint!r}"
                )
        if self.export_timeout_s <= 0:
            raise ConfigError("export_timeout_s must be positive")
        if self.export_wait_s is not None and not self.export_wait_s >= 0:
            raise ConfigError("export_wait_s must be 0 or more (None: the export timeout + 1 s)")
        if self.max_span_attributes < 1:
            raise ConfigError("max_span_attributes must be at least 1")
        check_semconv(self.semconv)
        if not isinstance(self.mask, tuple) or not all(
            isinstance(p, re.Pattern) for p in self.mask
        ):
            object.__setattr__(self, "mask", mask_patterns(self.mask))
        if self.prices is not None:
            check_price_table(self.prices)
            object.__setattr__(self, "prices", dict(self.prices))  # later edits do not leak in

    @property
    def redaction(self) -> Redaction:
        """What this Telemetry hides and masks."""
        return Redaction(self.hide_inputs, self.hide_outputs, self.mask)

    @property
    def export_wait(self) -> float:
        """Seconds ``run_trace`` waits for a run's export (``export_wait_s``, else its default)."""
        if self.export_wait_s is None:
            return self.export_timeout_s + 1.0
        return self.export_wait_s

    @property
    def traces_url(self) -> str | None:
        """Where spans are sent: for HTTP the ``/v1/traces`` URL, for gRPC the endpoint."""
        if self.otlp_endpoint is None:
            return None
        if self.protocol == "grpc":
            return self.otlp_endpoint
        parts = urlsplit(self.otlp_endpoint)
        if parts.path in ("", "/"):
            return urlunsplit(parts._replace(path=TRACES_PATH))
        return self.otlp_endpoint

    def resource(self) -> dict[str, str]:
        """Resource attributes: service name, project, then the user's own."""
        attrs = {SERVICE_NAME: self.service_name}
        if self.project_name:
            attrs[ResourceAttributes.PROJECT_NAME] = self.project_name  # Phoenix's project
        attrs.update(self.resource_attributes)
        return attrs

    def describe(self) -> dict[str, Any]:
        """JSON-safe settings without secrets (header values and URL credentials hidden)."""
        return {
            "otlp_endpoint": _without_credentials(self.traces_url),
            "protocol": self.protocol if self.otlp_endpoint else None,
            "headers": sorted(self.headers),
            "service_name": self.service_name,
            "project_name": self.project_name,
            "otlp_json_file": self.otlp_json_file,
            "max_traces": self.max_traces,
            "max_spans_per_trace": self.max_spans_per_trace,
            "export_wait_s": self.export_wait,
            "semconv": self.semconv,
            "genai_content": self.genai_content,
            "hide_inputs": self.hide_inputs,
            "hide_outputs": self.hide_outputs,
            "mask_patterns": len(self.mask),  # not the patterns: they may spell a secret
            "prices": None
            if self.prices is None
            else {model: price.to_dict() for model, price in self.prices.items()},
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> TelemetryConfig:
        """Settings from the standard OTEL_* variables (and OTEL_BRIDGE_* for our own)."""
        env = os.environ if env is None else env

        def get(*names: str) -> str | None:
            return next((env[n] for n in names if env.get(n)), None)

        endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        base = get("OTEL_EXPORTER_OTLP_ENDPOINT")
        protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
        if endpoint is None and base is not None:
            endpoint = base
            if (protocol or "http/protobuf") != "grpc":
                endpoint = base.rstrip("/") + TRACES_PATH
        resource = parse_key_values(
            get("OTEL_RESOURCE_ATTRIBUTES") or "", "OTEL_RESOURCE_ATTRIBUTES"
        )
        resource_service = resource.pop(SERVICE_NAME, None)  # OTEL_SERVICE_NAME wins
        service = get("OTEL_SERVICE_NAME") or resource_service
        values: dict[str, Any] = {
            "otlp_endpoint": endpoint,
            "protocol": protocol or "http/protobuf",
            "headers": parse_key_values(
                get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") or "",
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            "service_name": service or "otel-bridge",
            "resource_attributes": resource,
            "project_name": get("OTEL_BRIDGE_PROJECT", "PHOENIX_PROJECT_NAME"),
            "otlp_json_file": get("OTEL_BRIDGE_OTLP_JSON_FILE"),
            "semconv": (get("OTEL_BRIDGE_SEMCONV") or "openinference").strip().lower(),
        }
        timeout = get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
        if timeout is not None:
            try:
                values["export_timeout_s"] = float(timeout) / 1000.0
            except ValueError as exc:
                raise ConfigError(
                    f"OTEL_EXPORTER_OTLP_TIMEOUT is not a number: {timeout!r}"
                ) from exc
        limit = get("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")
        if limit is not None:
            try:
                values["max_span_attributes"] = int(limit)
            except ValueError as exc:
                raise ConfigError(
                    f"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT is not an integer: {limit!r}"
                ) from exc
        values.update(overrides)
        return cls(**values)


def mask_patterns(mask: Any) -> tuple[re.Pattern[str], ...]:
    """``mask`` (True, False, or patterns) compiled; ``ConfigError`` for one that is not a regex."""
    if isinstance(mask, str) or not isinstance(mask, bool | list | tuple):
        raise ConfigError("mask must be True (common secrets), False, or a list of patterns")
    try:
        return compile_patterns(mask)
    except (re.error, TypeError) as exc:
        raise ConfigError(f"mask: not a regular expression: {exc}") from None


def _without_credentials(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts._replace(query=""))
