"""Exporting finished runs at once, with a bounded wait for whoever asked.

``Telemetry.run_trace`` wants a run's spans exported before it answers (so that the RunTrace
can say ``export_failed``), but must not hang on a stalled endpoint, nor start a thread per run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

__all__ = ["ExportNow"]

logger = logging.getLogger(__name__)


class ExportNow:
    """One thread that exports requested traces now; callers wait for it with a bound.

    Requests that arrive while it works are served together by its next pass, so a stalled
    endpoint holds one thread, not one per caller.
    """

    def __init__(self, work: Callable[[set[int]], None]) -> None:
        self._work = work
        self._requests: list[tuple[set[int], threading.Event]] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, trace_ids: Collection[int], timeout_s: float) -> bool:
        """Ask for these traces to be exported; True when that was done within ``timeout_s``."""
        done = threading.Event()
        with self._lock:
            if self._closed:
                return False
            self._requests.append((set(trace_ids), done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="otel-bridge-export-now", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._requests and not self._closed:
                    self._wake.wait()
                if not self._requests:
                    return
                batch, self._requests = self._requests, []
            try:
                self._work(set().union(*(ids for ids, _ in batch)))
            except Exception:
                logger.exception("otel-bridge: could not export finished runs")
            finally:
                for _, done in batch:
                    done.set()

    def close(self, timeout_s: float) -> None:
        """Serve what was asked, then stop (waiting at most ``timeout_s``)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
