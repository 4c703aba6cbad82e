"""The host's text locale and time zone, changed for as long as a ``with`` block lasts."""

from __future__ import annotations

import locale
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ascii_locale", "time_zone"]


@contextmanager
def ascii_locale() -> Iterator[None]:
    """The C locale for text: open() without an encoding writes and reads ASCII only."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


@contextmanager
def time_zone(name: str) -> Iterator[None]:
    """The process's local time zone (``TZ``), e.g. ``America/New_York``."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
