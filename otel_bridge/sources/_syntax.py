"""The source syntax: ``run.otlp.json``, ``runs/``, ``http://host:4318``, ``phoenix+http://...``.

Every kind comes from the registry (``_source``): a remote kind is written
``SCHEME+http(s)://...``; a plain URL is the kind that claims plain URLs (the collector); a
path, or ``file://path``, is the kind that reads paths.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SourceError
from ._source import registered, source_class

__all__ = ["SourceKind", "parse_source", "source_kinds"]

SourceKind = str  # a registered scheme: file, collector, phoenix, jaeger, jaeger-legacy, ...
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_URL = ("http://", "https://")


def source_kinds() -> tuple[str, ...]:
    """The registered source kinds, in the order of the help."""
    return tuple(registered())


def parse_source(source: str | Path, kind: str | None = None) -> tuple[str, str, str | None]:
    """``(kind, location, project)`` of a source string (see ``load_spans`` for the syntax)."""
    text = str(source)
    kinds = registered()
    prefix, plus, rest = text.partition("+")
    if plus and prefix in kinds and kinds[prefix].remote and rest.startswith(_URL):
        if kind is not None and kind != prefix:
            raise SourceError(f"{text}: the URL says {prefix!r} but kind={kind!r}")
        kind, text = prefix, rest
    elif text.startswith("file://"):
        kind, text = kind or _path_kind(), text.removeprefix("file://")
    other = _SCHEME.match(text)
    if other and other.group(1).lower() not in ("http", "https"):
        raise SourceError(f"{text}: unsupported scheme {other.group(1)!r}; use {_syntax()}")
    if kind is None:
        kind = _url_kind() if text.startswith(_URL) else _path_kind()
    cls = source_class(kind)
    if not cls.remote:
        return kind, text, None
    if not text.startswith(_URL):
        raise SourceError(f"a {kind} source must be an http(s):// URL, got {text!r}")
    location, project = cls.split_url(text)
    return kind, location, project


def _path_kind() -> str:
    return next(scheme for scheme, cls in registered().items() if not cls.remote)


def _url_kind() -> str:
    return next(scheme for scheme, cls in registered().items() if cls.plain_url)


def _syntax() -> str:
    prefixed = [
        f"{scheme}+http(s)://..."
        for scheme, cls in registered().items()
        if cls.remote and not cls.plain_url
    ]
    return "a file or folder path, http(s)://HOST:PORT, " + ", ".join(prefixed)
