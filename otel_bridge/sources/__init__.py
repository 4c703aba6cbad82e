"""Span sources: where spans are read back from. ``load_spans`` picks one by its argument."""

from __future__ import annotations

from pathlib import Path

from ..spans import SpanRecord
from .files import read_otlp_json

__all__ = ["load_spans", "read_otlp_json"]


def load_spans(source: str | Path) -> list[SpanRecord]:
    """Spans from an OTLP/JSON file (one body, or one body per line)."""
    return read_otlp_json(source)
