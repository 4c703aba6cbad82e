"""Whether this process may be forked: on Linux, while it runs one thread only.

A fork copies no thread but the calling one, so what another thread held locked would stay
locked in the child. Forked workers inherit this process's imports (about 0.3 CPU-s each that a
spawned one spends importing again).
"""

from __future__ import annotations

import os
import sys

__all__ = ["fork_safe"]


def fork_safe() -> bool:
    """True on Linux while this process runs a single thread (native ones counted too)."""
    return sys.platform == "linux" and len(os.listdir("/proc/self/task")) == 1
