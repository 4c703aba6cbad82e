"""OTLP/JSON files: one export body, or one body per line (what Telemetry writes)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SourceError, SpanFormatError
from ..otlp import iter_json_bodies, records_from_json
from ..spans import SpanRecord

__all__ = ["read_otlp_json"]


def read_otlp_json(path: str | Path) -> list[SpanRecord]:
    """Every span in the file; SourceError when unreadable, SpanFormatError when not OTLP/JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from exc
    try:
        return records_from_json(list(iter_json_bodies(text)))
    except SpanFormatError as exc:
        raise SpanFormatError(f"{path}: not OTLP/JSON traces ({exc})") from exc
