"""Rendering of RunTraces for people: terminal summaries (and HTML later)."""

from __future__ import annotations

from .terminal import render_summary

__all__ = ["render_summary"]
