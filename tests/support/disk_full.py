"""A full disk, for as long as a ``with`` block lasts: every write to a file fails (EFBIG).

The process's file size limit (RLIMIT_FSIZE) is set to 0 and SIGXFSZ ignored, so a write
fails with ``OSError: [Errno 27] File too large`` instead of killing the process, as a write to
a full disk fails with ENOSPC. Nothing may be printed inside the block (stdout is a file too).
"""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["disk_full"]


@contextmanager
def disk_full() -> Iterator[None]:
    """Every write to a file fails inside the block; restored after it."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
