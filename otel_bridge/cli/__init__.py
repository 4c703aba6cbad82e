"""The ``otel-bridge`` command, a thin layer over the public functions.

``main``, ``derive`` and ``traces`` (``_main``), ``export`` (``_export``: runs as tables),
``report`` (``_report``: HTML pages), ``demo`` (``_demo``: the researcher -> writer run, and
``_demo_next``: what to run next) and ``collector serve`` (``_collector``); shared options
(``_options``) and the progress bar (``_progress``).
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
