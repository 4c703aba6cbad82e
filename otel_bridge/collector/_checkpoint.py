"""WAL checkpoints off the writer's path.

With SQLite's automatic checkpoints, every few commits the writer itself copies the WAL into
the database file and syncs it, and the request being acknowledged waits for that. Here the
writer only signals after each commit; a thread with its own connection runs PASSIVE
checkpoints (they never block the writer), and a RESTART checkpoint when the WAL grew large
anyway, so that the file is reused from its start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]

logger = logging.getLogger(__name__)

RESTART_FRAMES = 16_384  # ~64 MiB of 4 KiB pages


class Checkpointer:
    """A thread that checkpoints the WAL after commits (``nudge``) until ``close``."""

    def __init__(self, path: str | Path, synchronous: str) -> None:
        # timeout=0: a RESTART checkpoint that would wait for readers gives up at once (and is
        # tried again at the next nudge) instead of holding the writer off for seconds.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._wake = threading.Event()
        self._stop = False
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="otel-bridge-wal", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """New frames were committed to the WAL."""
        self._wake.set()

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (the last connection to close checkpoints what is left)."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._conn.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            try:
                _, frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames > RESTART_FRAMES:
                    self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            except sqlite3.Error:
                self.failures += 1
                if self.failures == 1:  # the automatic checkpoint is off: say it once, loudly
                    logger.exception("otel-bridge collector: WAL checkpoint failed")
