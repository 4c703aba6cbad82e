"""The ``otel-bridge`` command, a thin layer over the public functions.

``main`` and ``derive`` (``_main``), ``demo`` (``_demo``: the researcher -> writer run) and
``collector serve`` (``_collector``).
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
