"""The store's upkeep while it runs and when it stops: the write-ahead log is checkpointed
into the database file after commits, and closing waits a bounded time for the writer.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from support.collector_fixtures import store_with_writer

from otel_bridge import SpanRecord
from otel_bridge.collector import SpanStore
from otel_bridge.collector._ingest import batch_from_request
from otel_bridge.otlp import to_request

S = 1_000_000_000  # one second in ns
T0 = 1_790_000_000 * S


def three_spans(trace_id: int) -> list[SpanRecord]:
    """A root and two children."""
    resource = {"service.name": "svc"}
    return [
        SpanRecord(trace_id, 1, None, "run", T0, T0 + 5 * S, resource=resource),
        SpanRecord(trace_id, 2, 1, "step", T0 + S, T0 + 2 * S, resource=resource),
        SpanRecord(trace_id, 3, 1, "tool", T0 + 2 * S, T0 + 3 * S, resource=resource),
    ]


def spans_in_file_alone(path: Path, copy: Path) -> int | None:
    """How many spans a copy of the database file without its write-ahead log holds."""
    shutil.copyfile(path, copy)
    try:
        with closing(sqlite3.connect(copy)) as conn:
            return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
    except sqlite3.DatabaseError:  # no table yet (or a copy taken mid-checkpoint)
        return None
    finally:
        for leftover in copy.parent.glob(f"{copy.name}*"):
            leftover.unlink()


def test_committed_spans_reach_the_database_file_while_the_collector_runs(
    tmp_path: Path,
) -> None:
    """Checkpoints copy the log into the file after commits: a backup of the file alone holds
    what was acknowledged."""
    path = tmp_path / "spans.db"
    with SpanStore(path) as store:
        batch = batch_from_request(to_request(three_spans(1)))
        assert store.submit(batch).result(timeout=30) == 3
        deadline = time.monotonic() + 10
        found = spans_in_file_alone(path, tmp_path / "copy.db")
        while found != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
            found = spans_in_file_alone(path, tmp_path / "copy.db")
        assert found == 3


def test_closing_waits_30_s_for_a_held_up_writer_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.db"
    caplog.set_level(logging.ERROR, logger="otel_bridge.collector._writer")
    store, writer = store_with_writer(path)
    waited: list[float | None] = []
    # The 30 s are not sat through: the wait returns at once, the writer still held up.
    monkeypatch.setattr(writer, "join", lambda timeout=None: waited.append(timeout))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits on its batch
    future = store.submit(batch_from_request(to_request(three_spans(1))))
    store.close()
    assert waited == [30.0]
    assert [r.getMessage() for r in caplog.records] == [
        "otel-bridge collector: the writer did not stop in 30 s"
    ]
    blocker.execute("COMMIT")
    blocker.close()
    assert future.result(timeout=30) == 3  # committed once free, though nobody waited
    threading.Thread.join(writer, 30)
    assert not writer.is_alive()
