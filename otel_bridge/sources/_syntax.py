"""The source syntax: ``run.otlp.json``, ``http://host:4318``, ``phoenix+http://host/PROJECT``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

from ..errors import SourceError

__all__ = ["SOURCE_KINDS", "SourceKind", "parse_source"]

SourceKind = Literal["file", "collector", "phoenix", "jaeger", "jaeger-legacy"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
_REMOTE = ("collector", "phoenix", "jaeger", "jaeger-legacy")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
SYNTAX = "a file path, http(s)://HOST:PORT, phoenix+http(s)://... or jaeger+http(s)://..."


def parse_source(source: str | Path, kind: str | None = None) -> tuple[str, str, str | None]:
    """``(kind, location, project)`` of a source string (see ``load_spans`` for the syntax)."""
    text = str(source)
    prefix, plus, rest = text.partition("+")
    if plus and prefix in _REMOTE and rest.startswith(("http://", "https://")):
        if kind is not None and kind != prefix:
            raise SourceError(f"{text}: the URL says {prefix!r} but kind={kind!r}")
        kind, text = prefix, rest
    elif text.startswith("file://"):
        kind, text = kind or "file", text.removeprefix("file://")
    other = _SCHEME.match(text)
    if other and other.group(1).lower() not in ("http", "https"):
        raise SourceError(f"{text}: unsupported scheme {other.group(1)!r}; use {SYNTAX}")
    if kind is None:
        kind = "collector" if text.startswith(("http://", "https://")) else "file"
    if kind not in SOURCE_KINDS:
        raise SourceError(f"unknown source kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    if kind == "file":
        return kind, text, None
    if not text.startswith(("http://", "https://")):
        raise SourceError(f"a {kind} source must be an http(s):// URL, got {text!r}")
    project = None
    if kind == "phoenix":
        base, _, path = text.partition("://")[2].partition("/")
        scheme = text.partition("://")[0]
        path = path.strip("/")
        if path:  # the last path segment names the project
            head, _, project = path.rpartition("/")
            text = f"{scheme}://{base}" + (f"/{head}" if head else "")
    return kind, text, project
