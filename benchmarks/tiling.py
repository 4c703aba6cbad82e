"""A recorded run tiled into one larger trace, for the per-framework derive benchmarks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from otel_bridge import SpanRecord, load_spans


def tiled_trace(recorded: Path, n_spans: int) -> list[SpanRecord]:
    """The recorded run, tiled into one trace of about ``n_spans`` spans: each copy with its
    own span ids, later in time, under the one root."""
    spans = sorted(load_spans(recorded), key=lambda s: s.start_ns)
    root = next(s for s in spans if s.parent_id is None)
    body = [s for s in spans if s is not root]
    width = root.end_ns - root.start_ns
    copies = max(1, (n_spans - 1) // len(body))
    out = []
    for k in range(copies):
        shift = k * width

        def new_id(span_id: int, k: int = k) -> int:
            return span_id if span_id == root.span_id else (span_id ^ (k << 48)) or 1

        out += [
            dataclasses.replace(
                s,
                span_id=new_id(s.span_id),
                parent_id=None if s.parent_id is None else new_id(s.parent_id),
                start_ns=s.start_ns + shift,
                end_ns=s.end_ns + shift,
            )
            for s in body
        ]
    return [dataclasses.replace(root, end_ns=root.end_ns + (copies - 1) * width), *out]
