"""Rendering of RunTraces for people: the terminal summary (``_terminal``)."""

from __future__ import annotations

from ._terminal import render_summary, trace_panel

__all__ = ["render_summary", "trace_panel"]
