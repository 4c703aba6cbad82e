"""SpanStore: the collector's SQLite database (WAL), one writer thread, pooled readers.

Each span is stored once (primary key trace id + span id; a re-sent span is ignored) as its
own OTLP protobuf bytes, beside the columns that queries need. A resource and scope pair is
stored once per distinct value (``origins``). The writer keeps one summary row per trace
(``traces``: time range, span and error counts, service, root name) for listing. What a run's
derivation adds to its summary (agents, tokens, cost, and the session and task labels) is kept
in ``runs`` once the run is derived (``remember_run``, off the caller's thread), and the
RunTrace JSON itself in ``run_json`` (zstd-compressed, with the digest of the code that derived
it), so a run is derived once, not again for each export: derived data, written without
waiting for the disk, valid while the trace's span count (and the code) is unchanged.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import zstandard
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .._derivation_code import derivation_code
from ..errors import StoreError
from ._checkpoint import Checkpointer
from ._config import Synchronous
from ._ingest import IngestBatch
from ._traces import (
    RunFacts,
    TracePage,
    TraceStatus,
    TraceSummary,
    decode_cursor,
    encode_cursor,
    summary_of_row,
)
from ._wire import OriginBytes, request_bytes
from ._writer import SpanWriter

__all__ = [
    "SCHEMA_VERSION",
    "RunFacts",
    "SpanStore",
    "TracePage",
    "TraceStatus",
    "TraceSummary",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 3: run_json, the RunTrace JSON of derived runs
ORIGIN_CACHE_SIZE = 4096  # resource + scope pairs kept in memory for reads
RUN_JSON_LEVEL = 3  # zstd level of kept RunTrace JSON: about a twentieth of its size, fast

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
CREATE TABLE IF NOT EXISTS run_json (
    trace_id BLOB PRIMARY KEY,
    span_count INTEGER NOT NULL,
    code TEXT NOT NULL,
    body BLOB NOT NULL
);
"""


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
        # Called with the ids of the runs whose facts were just kept (the web UI's events).
        self.on_facts: Callable[[list[bytes]], None] | None = None
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

    def remember_run(
        self, trace_id: str, facts: RunFacts, run_json: bytes | None = None
    ) -> Future[None]:
        """Keep what a run's derivation found on its summary, and its RunTrace JSON when given
        (written on a thread of its own)."""
        kept = [] if run_json is None else [(trace_id, facts.span_count, run_json)]
        return self._facts.submit(self._write_facts, [(trace_id, facts)], kept)

    def label_runs(self, found: list[tuple[str, RunFacts]]) -> None:
        """Keep the labels (or facts) of these runs now (a filtered listing waits for them)."""
        self._facts.submit(self._write_facts, found).result()

    def _write_facts(
        self,
        found: list[tuple[str, RunFacts]],
        run_json: Sequence[tuple[str, int, bytes]] = (),
    ) -> None:
        if self._facts_conn is None:
            self._facts_conn = self._connect()
            # Derived data, derived again if lost: no need to wait for the disk.
            self._facts_conn.execute("PRAGMA synchronous=OFF")
        code = derivation_code()
        bodies = [
            (bytes.fromhex(trace_id), spans, code, _compress(body))
            for trace_id, spans, body in run_json
        ]
        rows = [
            (
                bytes.fromhex(trace_id),
                f.span_count,
                f.session_id,
                f.task_id,
                None if f.agents is None else json.dumps(list(f.agents), ensure_ascii=False),
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
                if bodies:
                    self._facts_conn.executemany(
                        "INSERT OR REPLACE INTO run_json VALUES (?, ?, ?, ?)", bodies
                    )
        except sqlite3.Error:
            logger.exception("otel-bridge collector: could not keep the facts of derived runs")
            return
        on_facts = self.on_facts
        if on_facts is not None:
            try:
                on_facts([row[0] for row in rows])
            except Exception:  # a listener must not stop the facts thread
                logger.exception("otel-bridge collector: facts listener failed")

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
        return summary_of_row(row) if row else None

    def list_traces(
        self,
        *,
        service: str | None = None,
        status: TraceStatus | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        session: str | None = None,
        task: str | None = None,
        agent: str | None = None,
        text: str | None = None,
        open_ids: Sequence[bytes] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TracePage:
        """Traces newest first (by start), filtered; ``start_ns`` inclusive, ``end_ns`` not.

        ``session`` and ``task`` match the labels kept in ``runs`` (see ``label_runs``),
        ``agent`` a derived agent's name; ``text`` is a case-insensitive substring of the
        trace id, root span name, service, session, task or agent names. ``open_ids`` keeps
        the traces without a root span and these. ``ValueError`` when ``cursor`` is not one
        this store gave out.
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
            ("EXISTS (SELECT 1 FROM json_each(r.agents) a WHERE a.value = ?)", agent),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if text is not None:
            where.append(f"({' OR '.join(f'instr(lower({c}), ?) > 0' for c in _TEXT_COLUMNS)})")
            params.extend([text.lower()] * len(_TEXT_COLUMNS))
        if open_ids is not None:
            marks = ", ".join("?" * len(open_ids))
            where.append(f"(t.root_name IS NULL OR t.trace_id IN ({marks}))")
            params.extend(open_ids)
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
        traces = [summary_of_row(row) for row in rows[:limit]]
        last = traces[-1] if len(rows) > limit else None
        return TracePage(traces, encode_cursor(last.start_ns, last.trace_id) if last else None)

    def summaries(self, trace_ids: Sequence[bytes]) -> list[TraceSummary]:
        """The summaries of these traces (those that exist), in no particular order."""
        found: list[TraceSummary] = []
        for at in range(0, len(trace_ids), 500):
            chunk = trace_ids[at : at + 500]
            marks = ", ".join("?" * len(chunk))
            with self._reader() as conn:
                rows = conn.execute(
                    f"SELECT {_SUMMARY_COLUMNS} {_FROM} WHERE t.trace_id IN ({marks})", chunk
                ).fetchall()
            found.extend(summary_of_row(row) for row in rows)
        return found

    def run_json(self, trace_ids: Sequence[str], code: str) -> dict[str, bytes]:
        """The RunTrace JSON kept for these traces (trace id -> JSON), of those derived by the
        code ``code`` names from the spans the trace has now."""
        if code != derivation_code():  # kept runs were all derived by this code
            return {}
        found: dict[str, bytes] = {}
        for at in range(0, len(trace_ids), 500):
            chunk = [bytes.fromhex(trace_id) for trace_id in trace_ids[at : at + 500]]
            marks = ", ".join("?" * len(chunk))
            with self._reader() as conn:
                rows = conn.execute(
                    "SELECT j.trace_id, j.body FROM run_json j JOIN traces t "
                    "ON t.trace_id = j.trace_id AND t.span_count = j.span_count "
                    f"WHERE j.code = ? AND j.trace_id IN ({marks})",
                    [code, *chunk],
                ).fetchall()
            for trace_id, body in rows:
                found[trace_id.hex()] = _decompress(body)
        return found

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


def _compress(body: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=RUN_JSON_LEVEL).compress(body)


def _decompress(body: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(body)


_SUMMARY_COLUMNS = (
    "t.trace_id, t.start_ns, t.end_ns, t.span_count, t.error_count, t.status, t.service, "
    "t.root_name, r.span_count, r.session_id, r.task_id, r.agents, r.total_tokens, "
    "r.tokens_complete, r.cost_usd"
)
_FROM = "FROM traces t LEFT JOIN runs r ON r.trace_id = t.trace_id"
# What the free-text filter looks in (agents: the JSON list of names, as text).
_TEXT_COLUMNS = (
    "hex(t.trace_id)",
    "t.root_name",
    "t.service",
    "r.session_id",
    "r.task_id",
    "r.agents",
)
