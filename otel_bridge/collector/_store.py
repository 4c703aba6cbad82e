"""SpanStore: the collector's SQLite database (WAL), one writer thread, pooled readers.

Each span is stored once (primary key trace id + span id; a re-sent span is ignored) as its
own OTLP protobuf bytes, beside the columns that queries need. A resource and scope pair is
stored once per distinct value (``origins``). The writer keeps one summary row per trace
(``traces``: time range, span and error counts, service, root name) for listing. What a run's
derivation adds to its summary (agents, tokens, cost, and the session and task labels) is kept
in ``runs`` once the run is derived (``remember_run``, off the caller's thread): derived data,
written without waiting for the disk, and valid while the trace's span count is unchanged.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..errors import BadParameter, StoreError
from ..spans import iso
from ._checkpoint import Checkpointer
from ._config import Synchronous
from ._ingest import IngestBatch
from ._wire import OriginBytes, request_bytes
from ._writer import SpanWriter

__all__ = ["SCHEMA_VERSION", "RunFacts", "SpanStore", "TracePage", "TraceSummary"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
ORIGIN_CACHE_SIZE = 4096  # resource + scope pairs kept in memory for reads

_SCHEMA = """
CREATE TABLE IF NOT EXISTS origins (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    resource BLOB NOT NULL,
    resource_schema_url TEXT NOT NULL,
    scope BLOB NOT NULL,
    scope_schema_url TEXT NOT NULL,
    service TEXT
);
CREATE TABLE IF NOT EXISTS spans (
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    parent_id BLOB,
    origin_id INTEGER NOT NULL REFERENCES origins (id),
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status INTEGER NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE TABLE IF NOT EXISTS traces (
    trace_id BLOB PRIMARY KEY,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    span_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    service TEXT,
    root_name TEXT
);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_ns, trace_id);
CREATE INDEX IF NOT EXISTS traces_by_service ON traces (service, start_ns, trace_id);
CREATE INDEX IF NOT EXISTS traces_by_status ON traces (status, start_ns, trace_id);
CREATE TABLE IF NOT EXISTS runs (
    trace_id BLOB PRIMARY KEY,
    span_count INTEGER NOT NULL,
    session_id TEXT,
    task_id TEXT,
    agents TEXT,
    total_tokens INTEGER,
    tokens_complete INTEGER,
    cost_usd REAL
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task_id);
"""

TraceStatus = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What deriving a run adds to its trace summary (``agents`` None: labels only)."""

    span_count: int  # the spans they were read from
    session_id: str | None = None
    task_id: str | None = None
    agents: tuple[str, ...] | None = None
    total_tokens: int | None = None
    tokens_complete: bool | None = None
    cost_usd: float | None = None

    @classmethod
    def of_run(cls, span_count: int, run: Mapping[str, Any]) -> RunFacts:
        """The facts of a RunTrace JSON object."""
        labels = run.get("labels") or {}
        usage = run.get("usage") or {}
        cost = run.get("cost") or {}
        return cls(
            span_count,
            labels.get("session_id"),
            labels.get("task_id"),
            tuple(run.get("agents") or ()),
            usage.get("total_tokens"),
            usage.get("complete"),
            cost.get("total_usd") if cost.get("complete") else None,
        )


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One row of the trace list, with what its run's derivation added (``run``) if known."""

    trace_id: str
    start_ns: int
    end_ns: int
    span_count: int
    error_count: int
    status: TraceStatus
    service: str | None
    root_name: str | None
    run: RunFacts | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the query API (``run`` null until the run was derived)."""
        run = self.run
        derived = run is not None and run.agents is not None and run.span_count == self.span_count
        return {
            "trace_id": self.trace_id,
            "service": self.service,
            "root_name": self.root_name,
            "status": self.status,
            "span_count": self.span_count,
            "error_count": self.error_count,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "duration_s": round(max(0, self.end_ns - self.start_ns) / 1e9, 6),
            "session_id": run.session_id if run else None,
            "task_id": run.task_id if run else None,
            "run": {
                "agents": list(run.agents or ()),
                "total_tokens": run.total_tokens,
                "tokens_complete": run.tokens_complete,
                "cost_usd": run.cost_usd,
            }
            if run is not None and derived
            else None,
        }


@dataclass(frozen=True, slots=True)
class TracePage:
    """A page of traces, newest first, and the cursor of the next page (None on the last)."""

    traces: list[TraceSummary]
    next_cursor: str | None


class SpanStore:
    """The database: ``submit`` batches (writer thread), read traces (any thread)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "FULL",
        max_pending_bytes: int = 64 * 1024 * 1024,
        max_batch_spans: int = 8192,
    ) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: a big transaction need not spill
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer does it, off this path
        self._readers: list[sqlite3.Connection] = []
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._origin_cache: dict[int, OriginBytes] = {}
        self.checkpointer = Checkpointer(self.path, synchronous)
        self.writer = SpanWriter(
            conn,
            max_pending_bytes=max_pending_bytes,
            max_batch_spans=max_batch_spans,
            on_commit=self.checkpointer.nudge,
        )
        self._facts_conn: sqlite3.Connection | None = None
        self._facts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="otel-bridge-facts")
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn

    # ---- writing ---------------------------------------------------------------------------

    def submit(self, batch: IngestBatch) -> Future[int]:
        """Queue a batch for the writer (see ``SpanWriter.submit``)."""
        return self.writer.submit(batch)

    def close(self) -> None:
        """Commit what is queued, then close every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._facts.shutdown(wait=True)
        if self._facts_conn is not None:
            self._facts_conn.close()
        self.writer.close()
        self.checkpointer.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._idle.clear()

    def __enter__(self) -> SpanStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def remember_run(self, trace_id: str, facts: RunFacts) -> Future[None]:
        """Keep what a run's derivation found on its summary (written on a thread of its own)."""
        return self._facts.submit(self._write_facts, [(trace_id, facts)])

    def label_runs(self, found: list[tuple[str, RunFacts]]) -> None:
        """Keep the labels (or facts) of these runs now (a filtered listing waits for them)."""
        self._facts.submit(self._write_facts, found).result()

    def _write_facts(self, found: list[tuple[str, RunFacts]]) -> None:
        if self._facts_conn is None:
            self._facts_conn = self._connect()
            # Derived data, derived again if lost: no need to wait for the disk.
            self._facts_conn.execute("PRAGMA synchronous=OFF")
        rows = [
            (
                bytes.fromhex(trace_id),
                f.span_count,
                f.session_id,
                f.task_id,
                None if f.agents is None else json.dumps(list(f.agents)),
                f.total_tokens,
                None if f.tokens_complete is None else int(f.tokens_complete),
                f.cost_usd,
            )
            for trace_id, f in found
        ]
        try:
            with self._facts_conn:
                self._facts_conn.execute("BEGIN")
                self._facts_conn.executemany(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
        except sqlite3.Error:
            logger.exception("otel-bridge collector: could not keep the facts of derived runs")

    def unlabelled(self, start_ns: int | None, end_ns: int | None, limit: int) -> list[str]:
        """Traces (newest first) whose labels are not known yet, in a start range."""
        sql = (
            "SELECT t.trace_id FROM traces t LEFT JOIN runs r ON r.trace_id = t.trace_id "
            "WHERE r.trace_id IS NULL"
        )
        params: list[Any] = []
        if start_ns is not None:
            sql += " AND t.start_ns >= ?"
            params.append(start_ns)
        if end_ns is not None:
            sql += " AND t.start_ns < ?"
            params.append(end_ns)
        sql += " ORDER BY t.start_ns DESC LIMIT ?"
        params.append(limit)
        with self._reader() as conn:
            return [row[0].hex() for row in conn.execute(sql, params)]

    # ---- reading ---------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            with self._lock:
                self._readers.append(conn)
        try:
            yield conn
        finally:
            with self._lock:
                if not self._closed:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:  # closed meanwhile: this one is not pooled any more
                conn.close()

    def span_count(self) -> int:
        """How many spans are stored."""
        with self._reader() as conn:
            return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])

    def trace(self, trace_id: str) -> TraceSummary | None:
        """The summary of one trace, or None."""
        with self._reader() as conn:
            row = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} {_FROM} WHERE t.trace_id = ?",
                (bytes.fromhex(trace_id),),
            ).fetchone()
        return _summary(row) if row else None

    def list_traces(
        self,
        *,
        service: str | None = None,
        status: TraceStatus | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        session: str | None = None,
        task: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TracePage:
        """Traces newest first (by start), filtered; ``start_ns`` inclusive, ``end_ns`` not.

        ``session`` and ``task`` match the labels kept in ``runs`` (see ``label_runs``).
        ``ValueError`` when ``cursor`` is not one this store gave out.
        """
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("t.service = ?", service),
            ("t.status = ?", status),
            ("t.start_ns >= ?", start_ns),
            ("t.start_ns < ?", end_ns),
            ("r.session_id = ?", session),
            ("r.task_id = ?", task),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if cursor is not None:
            where.append("(t.start_ns, t.trace_id) < (?, ?)")
            params.extend(decode_cursor(cursor))
        sql = f"SELECT {_SUMMARY_COLUMNS} {_FROM}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT ?"
        params.append(limit + 1)
        with self._reader() as conn:
            rows = conn.execute(sql, params).fetchall()
        traces = [_summary(row) for row in rows[:limit]]
        last = traces[-1] if len(rows) > limit else None
        return TracePage(traces, encode_cursor(last.start_ns, last.trace_id) if last else None)

    def trace_request(self, trace_id: str) -> ExportTraceServiceRequest | None:
        """Every stored span of a trace as one OTLP request (None when there is none)."""
        body = self.trace_bytes(trace_id)
        return None if body is None else ExportTraceServiceRequest.FromString(body)

    def trace_bytes(self, trace_id: str) -> bytes | None:
        """``trace_request`` serialised, assembled from the stored bytes (None: no spans)."""
        tid = bytes.fromhex(trace_id)
        with self._reader() as conn:
            # Sorted here, not by SQLite: its sorter would copy every span's bytes once more.
            found = conn.execute(
                "SELECT start_ns, origin_id, data FROM spans WHERE trace_id = ?", (tid,)
            ).fetchall()
            if not found:
                return None
            found.sort(key=lambda row: row[0])
            rows = [(origin, data) for _, origin, data in found]
            origins = self._origins(conn, {origin for origin, _ in rows})
        return request_bytes(rows, origins)

    def _origins(self, conn: sqlite3.Connection, wanted: set[int]) -> dict[int, OriginBytes]:
        """Resources and scopes by origin id; kept once read, since an origin never changes."""
        known = self._origin_cache  # shared by the reader threads: only get, set and clear
        found: dict[int, OriginBytes] = {}
        for origin in wanted:
            hit = known.get(origin)
            if hit is not None:
                found[origin] = hit
        missing = sorted(wanted.difference(found))
        if missing:
            if len(known) >= ORIGIN_CACHE_SIZE:  # many distinct resources (rare): start over
                known.clear()
            for row in conn.execute(
                "SELECT id, resource, resource_schema_url, scope, scope_schema_url "
                f"FROM origins WHERE id IN ({', '.join('?' * len(missing))})",
                missing,
            ):
                found[row[0]] = known[row[0]] = row[1:]
        return found


_SUMMARY_COLUMNS = (
    "t.trace_id, t.start_ns, t.end_ns, t.span_count, t.error_count, t.status, t.service, "
    "t.root_name, r.span_count, r.session_id, r.task_id, r.agents, r.total_tokens, "
    "r.tokens_complete, r.cost_usd"
)
_FROM = "FROM traces t LEFT JOIN runs r ON r.trace_id = t.trace_id"


def _summary(row: tuple[Any, ...]) -> TraceSummary:
    facts = None
    if row[8] is not None:
        agents = None if row[11] is None else tuple(json.loads(row[11]))
        complete = None if row[13] is None else bool(row[13])
        facts = RunFacts(row[8], row[9], row[10], agents, row[12], complete, row[14])
    trace_id, start, end, spans, errors, status, service, root = row[:8]
    return TraceSummary(trace_id.hex(), start, end, spans, errors, status, service, root, facts)


def encode_cursor(start_ns: int, trace_id: str) -> str:
    """An opaque page cursor: the sort key of the last trace of a page."""
    return base64.urlsafe_b64encode(f"{start_ns}:{trace_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, bytes]:
    """The sort key in a cursor; BadParameter when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, trace_id = text.split(":")
        tid = bytes.fromhex(trace_id)
        if len(tid) != 16:
            raise BadParameter("bad trace id")
        start_ns = int(start)
        if not -(2**63) <= start_ns < 2**63:
            raise BadParameter("start out of range")
        return start_ns, tid
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter(f"invalid cursor {cursor!r}") from exc
