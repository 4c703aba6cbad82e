"""Files as a source: every encoding the Collector's file exporter writes, folders, damage.

The framing written here follows the exporter's code (``file_writer.go``: a message per line,
or its length in 4 big-endian bytes before it; ``marshaller.go``: each message its own zstd
frame when compressed; behind the native compression gate, the whole file one zstd stream).
tests/sources/test_otelcol_files.py reads what our collector build really writes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner
from support.paths import DATA
from support.records import TraceBuilder, assistant, user

from otel_bridge import SourceError, SpanFormatError, derive, load_spans
from otel_bridge.cli import main
from otel_bridge.otlp import request_to_json, to_request
from otel_bridge.sources import FileSource, _framing, list_runs, select_runs
from otel_bridge.sources._source import RunQuery
from otel_bridge.spans import SpanRecord, freeze

SESSION = "session.id"


def _run(trace_id: int, session: str, answer: str) -> list[SpanRecord]:
    """A one-agent run: root, step, one LLM call (3 spans), with a session on every span."""
    b = TraceBuilder(trace_id)
    root = b.span("team.run", 0, 100, attrs={"openinference.span.kind": "CHAIN"})
    step = b.step(root, "researcher", 1, 99)
    b.llm(step, 2, 98, [user("q")], [assistant(answer)], usage=(10, 5))
    return [replace(s, attributes=freeze({**s.attributes, SESSION: session})) for s in b.spans]


A, B, C = 0xA1, 0xB2, 0xC3


def _messages() -> list[list[SpanRecord]]:
    """Three export requests: run A whole, run B's first spans, the rest of B and run C."""
    a, b, c = _run(A, "s1", "alpha"), _run(B, "s2", "beta"), _run(C, "s1", "gamma")
    return [a, b[:1], b[1:] + c]


def _proto(spans: list[SpanRecord]) -> bytes:
    return to_request(spans).SerializeToString()


def _json(spans: list[SpanRecord]) -> bytes:
    return json.dumps(request_to_json(to_request(spans))).encode()


def _framed(payloads: list[bytes]) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in payloads)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


ENCODINGS = {
    "json": lambda ms: b"".join(_json(m) + b"\n" for m in ms),
    "proto": lambda ms: _framed([_proto(m) for m in ms]),
    "json+zstd": lambda ms: _framed([_zstd(_json(m)) for m in ms]),
    "proto+zstd": lambda ms: _framed([_zstd(_proto(m)) for m in ms]),
    # Native compression with rotation: each write one frame (a line is two writes).
    "native json+zstd": lambda ms: b"".join(_zstd(_json(m)) + _zstd(b"\n") for m in ms),
    "native proto+zstd": lambda ms: b"".join(_zstd(_framed([_proto(m)])) for m in ms),
    # Without rotation: one stream, frames ended by the flush.
    "native stream": lambda ms: _zstd(b"".join(_json(m) + b"\n" for m in ms)),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_encoding_reads_the_same_runs(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "spans.out"
    path.write_bytes(ENCODINGS[encoding](_messages()))
    runs = [derive(spans) for spans in select_runs(path)]
    # In the order the runs end in the file; B's spans, split over two messages, joined.
    assert [(r.trace_id[-2:], r.output, len(r.llm_calls)) for r in runs] == [
        ("a1", "alpha", 1),
        ("b2", "beta", 1),
        ("c3", "gamma", 1),
    ]
    assert len(load_spans(path)) == 9
    assert [s.trace_id for s in load_spans(path, f"{B:032x}")] == [B, B, B]


def test_a_folder_reads_rotated_files_in_order_and_joins_a_split_trace(tmp_path: Path) -> None:
    first, second, third = _messages()
    # What rotation leaves: backups named by the time they were rotated, then the live file.
    (tmp_path / "spans-2026-11-23T17-00-00.000.json").write_bytes(_json(first) + b"\n")
    (tmp_path / "spans-2026-11-23T17-05-00.000.json").write_bytes(_json(second) + b"\n")
    (tmp_path / "spans.json").write_bytes(_json(third) + b"\n")
    (tmp_path / ".spans.json.lock").write_bytes(b"\x00\x01")  # hidden: not read
    source = FileSource(str(tmp_path))
    assert [p.name for p in source.files] == [
        "spans-2026-11-23T17-00-00.000.json",
        "spans-2026-11-23T17-05-00.000.json",
        "spans.json",
    ]
    listed = list(list_runs(tmp_path))
    assert [(r.trace_id[-2:], r.spans, r.session_id, r.agents) for r in listed] == [
        ("a1", 3, "s1", ("researcher",)),
        ("b2", 3, "s2", ("researcher",)),
        ("c3", 3, "s1", ("researcher",)),
    ]
    assert [r.trace_id[-2:] for r in list_runs(tmp_path, session="s1")] == ["a1", "c3"]
    assert [derive(s).output for s in select_runs(tmp_path, session="s2")] == ["beta"]


@pytest.mark.parametrize(
    "encoding", ["json", "proto", "proto+zstd", "json+zstd", "native proto+zstd"]
)
def test_runs_late_in_a_file_are_read_without_decoding_the_messages_before(
    tmp_path: Path, encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a parallel export's later workers read: their stretch of the file, not all of it
    (JSON lines before it are parsed, to be counted, but not read)."""
    path = tmp_path / "spans.out"
    path.write_bytes(ENCODINGS[encoding](_messages()))
    source = FileSource(str(path))
    source.scan()  # the listing reads every message once
    decoded: list[bytes] = []
    decoder = "records_from_json_body" if "json" in encoding else "decode_request"
    real = getattr(_framing, decoder)

    def counted(payload: Any) -> Any:
        decoded.append(payload)
        return real(payload)

    monkeypatch.setattr(_framing, decoder, counted)
    assert [derive(s).output for s in source.read_traces([f"{C:032x}"])] == ["gamma"]
    assert len(decoded) == 1  # the third message only: C is wholly in it


def test_files_before_the_runs_read_are_not_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = _messages()
    (tmp_path / "spans-2026-11-23T17-00-00.000.json").write_bytes(_json(first) + b"\n")
    (tmp_path / "spans-2026-11-23T17-05-00.000.json").write_bytes(_json(second) + b"\n")
    (tmp_path / "spans.json").write_bytes(_json(third) + b"\n")
    source = FileSource(str(tmp_path))
    source.scan()
    opened: list[str] = []
    real = _framing._open

    def recorded(path: Path) -> Any:
        opened.append(path.name)
        return real(path)

    monkeypatch.setattr(_framing, "_open", recorded)
    assert [derive(s).output for s in source.read_traces([f"{C:032x}"])] == ["gamma"]
    assert opened == ["spans.json"]
    opened.clear()
    assert [derive(s).output for s in source.read_traces([f"{B:032x}"])] == ["beta"]
    assert opened == ["spans-2026-11-23T17-05-00.000.json", "spans.json"]


def test_a_file_that_grew_after_the_listing_leaves_the_next_files_runs_whole(
    tmp_path: Path,
) -> None:
    """A collector still writing one file: what it appended is not read, and the messages of
    the files after it keep the numbers the listing gave them."""
    a, b, c = _messages()
    (tmp_path / "a.proto").write_bytes(_framed([_proto(a)]))
    (tmp_path / "b.proto").write_bytes(_framed([_proto(b), _proto(c)]))
    source = FileSource(str(tmp_path))
    runs = [listed.summary.trace_id for listed in source.list_runs(RunQuery())]
    with (tmp_path / "a.proto").open("ab") as live:
        live.write(_framed([_proto(_run(0xD4, "s3", "delta"))]))
    assert [(len(s), derive(s).output) for s in source.read_traces(runs)] == [
        (3, "alpha"),
        (3, "beta"),
        (3, "gamma"),
    ]


def _rotated_folder(folder: Path, encode: Any = lambda m: _json(m) + b"\n") -> Path:
    """The three messages in three rotated files: B begins in the second and ends in the third."""
    first, second, third = _messages()
    (folder / "spans-2026-11-23T17-00-00.000.json").write_bytes(encode(first))
    (folder / "spans-2026-11-23T17-05-00.000.json").write_bytes(encode(second) + encode(first))
    (folder / "spans.json").write_bytes(encode(third))
    return folder


LISTING = """
import json, os, sys
from pathlib import Path
from otel_bridge.sources import _file_listing
from otel_bridge.sources._files import FileSource
from otel_bridge.sources._source import RunQuery

def listing(source):
    scan = source.scan()
    traces = [[raw.hex(), t.order, t.start_ns, t.end_ns, t.first_message, t.last_message,
               t.spans, t.errors, repr(t.root)] for raw, t in scan.traces.items()]
    runs = [(listed.summary.trace_id[-2:], listed.summary.spans)
            for listed in source.list_runs(RunQuery())]
    return {"traces": traces, "messages": scan.messages, "per_file": scan.per_file, "runs": runs}

def workers(source):
    return _file_listing._plan(source.files)[1]

in_turn = FileSource(sys.argv[1])
small = workers(in_turn)
_file_listing.PART_BYTES = int(sys.argv[2])
side_by_side = FileSource(sys.argv[1])
parts = [(p.path.name, p.skip, p.count) for p in _file_listing._plan(side_by_side.files)[0]]
many = workers(side_by_side)
side_by_side.scan()
# One thread, right after: an export forks its workers from this process next.
assert len(os.listdir("/proc/self/task")) == 1
print(json.dumps([small, many, parts, listing(in_turn), listing(side_by_side)]))
"""


def _listed(folder: Path, part_bytes: int) -> tuple[int, int, list[Any], Any, Any]:
    """The folder listed in turn, then side by side in parts of ``part_bytes``, in a process of
    its own: files are listed side by side only from a process of one thread."""
    result = subprocess.run(
        [sys.executable, "-c", LISTING, str(folder), str(part_bytes)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    small, workers, parts, in_turn, side_by_side = json.loads(result.stdout)
    return small, workers, parts, in_turn, side_by_side


def test_a_large_folder_is_listed_by_processes_side_by_side_as_in_turn(tmp_path: Path) -> None:
    small, workers, parts, in_turn, side_by_side = _listed(_rotated_folder(tmp_path), 1)
    assert small == 1  # a small folder: no process started
    assert workers == min(3, os.cpu_count() or 1) > 1
    assert [name for name, _, _ in parts] == [
        "spans-2026-11-23T17-00-00.000.json",
        "spans-2026-11-23T17-05-00.000.json",
        "spans.json",
    ]  # JSON lines: a file a part
    assert side_by_side == in_turn
    # A's spans are in the first file and again in the second: joined, its root kept.
    assert side_by_side["runs"] == [["a1", 6], ["b2", 3], ["c3", 3]]
    assert side_by_side["per_file"] == [1, 2, 1]


def test_a_large_file_of_length_prefixed_messages_is_listed_in_stretches(tmp_path: Path) -> None:
    runs = [_run(0x100 + n, f"s{n % 3}", f"answer {n}") for n in range(12)]
    # Runs split over messages: each message holds the end of one run and the start of the next.
    spans = [span for run in runs for span in run]
    messages = [spans[n : n + 5] for n in range(0, len(spans), 5)]
    (tmp_path / "spans.pb.zst").write_bytes(_framed([_zstd(_proto(m)) for m in messages]))
    size = (tmp_path / "spans.pb.zst").stat().st_size
    small, workers, parts, in_turn, side_by_side = _listed(tmp_path, size // 4)
    assert small == 1
    assert workers == min(4, os.cpu_count() or 1) > 1
    assert parts[0][1] == 0  # the first stretch begins at the first message
    assert len(parts) >= 4 and sum(count for _, _, count in parts) == len(messages)
    assert side_by_side == in_turn
    assert side_by_side["per_file"] == [len(messages)]
    assert [spans for _, spans in side_by_side["runs"]] == [3] * 12


def test_a_stretch_that_does_not_decode_has_its_file_listed_in_turn(tmp_path: Path) -> None:
    """As read in turn: the messages after one that does not decode cannot be trusted."""
    messages = [_run(0x100 + n, "s", f"answer {n}") for n in range(8)]
    frames = [_zstd(_proto(m)) for m in messages]
    frames[5] = b"\x28\xb5\x2f\xfd" + b"not zstd" * (len(frames[5]) // 8)
    (tmp_path / "spans.pb.zst").write_bytes(_framed(frames))
    size = (tmp_path / "spans.pb.zst").stat().st_size
    _, workers, parts, in_turn, side_by_side = _listed(tmp_path, size // 4)
    assert workers > 1 and len(parts) >= 4
    assert side_by_side == in_turn
    assert len(side_by_side["runs"]) == 5  # the five before the bad message


def test_a_bad_file_listed_by_another_process_names_itself(tmp_path: Path) -> None:
    folder = _rotated_folder(tmp_path)
    (folder / "spans-2026-11-23T17-05-00.000.json").write_bytes(b"\xff\xd8\xff\xe0" * 300)
    scan = (
        "import sys; from otel_bridge.sources import _file_listing as listing; "
        "from otel_bridge.sources._files import FileSource; "
        "listing.PART_BYTES = 1; source = FileSource(sys.argv[1]); "
        "assert listing._plan(source.files)[1] > 1; source.scan()"
    )
    result = subprocess.run(
        [sys.executable, "-c", scan, str(folder)], capture_output=True, text=True
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("otel_bridge.errors.SpanFormatError: ")
    assert "17-05-00.000.json: not a text file, nor OTLP protobuf" in last


def test_group_by_subfolders_are_read_too(tmp_path: Path) -> None:
    first, second, third = _messages()
    (tmp_path / "svc-a").mkdir()
    (tmp_path / "svc-b").mkdir()
    (tmp_path / "svc-a" / "spans.proto").write_bytes(_framed([_proto(first)]))
    (tmp_path / "svc-b" / "spans.proto").write_bytes(_framed([_proto(second), _proto(third)]))
    assert [derive(s).output for s in select_runs(tmp_path)] == ["alpha", "beta", "gamma"]


def test_a_cut_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spans.json"
    whole = ENCODINGS["json"](_messages())
    path.write_bytes(whole + _json(_run(0xD4, "s3", "delta"))[:150])  # stopped mid-write
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        runs = [derive(spans).output for spans in select_runs(path)]
    assert runs == ["alpha", "beta", "gamma"]
    assert caplog.messages == [
        f"otel-bridge: warning: {path}: skipped 1 truncated line (a collector stopped "
        "mid-write?); kept 3 whole messages"
    ]


def test_a_cut_line_the_restarted_collector_wrote_on_loses_only_the_cut_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, third = _messages()
    cut = _json(_run(0xD4, "s3", "delta"))[:150]
    path = tmp_path / "spans.json"
    path.write_bytes(_json(first) + b"\n" + cut + _json(second) + b"\n" + _json(third) + b"\n")
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        assert [derive(s).output for s in select_runs(path)] == ["alpha", "beta", "gamma"]
    assert "skipped 1 truncated line" in caplog.text


@pytest.mark.parametrize("encoding", ["proto", "proto+zstd", "native proto+zstd"])
def test_a_cut_last_message_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    whole = ENCODINGS[encoding](_messages())
    path = tmp_path / "spans.bin"
    path.write_bytes(whole[:-7])
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        runs = [derive(spans).output for spans in select_runs(path, include_open=True)]
    assert runs[:1] == ["alpha"]  # the whole messages before the cut are all kept
    assert len(runs) == 2  # B's first span (an open run) from the second message
    assert caplog.messages == [
        f"otel-bridge: warning: {path}: skipped 1 truncated message (a collector stopped "
        "mid-write?); kept 2 whole messages"
    ]


@pytest.mark.parametrize("encoding", ["json", "proto", "proto+zstd", "native proto+zstd"])
def test_a_new_file_cut_in_its_first_message_loses_nothing_else_of_the_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    """The collector rotated, then stopped while writing the new file's first message."""
    first, second, third = _messages()
    (tmp_path / "spans-2026-11-23T17-00-00.000.out").write_bytes(
        ENCODINGS[encoding]([first, second, third])
    )
    live = tmp_path / "spans.out"
    live.write_bytes(ENCODINGS[encoding]([_run(0xD4, "s3", "delta")])[:60])
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        assert [derive(s).output for s in select_runs(tmp_path)] == ["alpha", "beta", "gamma"]
    what = "line" if encoding == "json" else "message"
    assert caplog.messages == [
        f"otel-bridge: warning: {live}: skipped 1 truncated {what} (a collector stopped "
        "mid-write?); kept 0 whole messages"
    ]
    # Alone, the cut file holds nothing to read: an error that says so.
    with pytest.raises(
        SpanFormatError, match=rf"spans\.out: no whole OTLP message \(1 truncated {what}\)"
    ):
        load_spans(live)


def test_files_that_are_not_otlp_say_what_they_are(tmp_path: Path) -> None:
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with pytest.raises(SpanFormatError, match=r"photo\.jpg: not a text file, nor OTLP protobuf"):
        load_spans(binary)
    cut = tmp_path / "cut.json"
    cut.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "ab')
    with pytest.raises(SpanFormatError) as caught:
        load_spans(cut)
    assert str(caught.value) == f"{cut}: no whole OTLP message (1 truncated line)"
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"spans": [{"name": "ab"}]}\n')
    with pytest.raises(SpanFormatError, match=r"wrong\.json: not OTLP/JSON traces"):
        load_spans(wrong)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not OTLP")
    with pytest.raises(SpanFormatError, match=r"notes\.txt: a text file, but not OTLP/JSON"):
        load_spans(text)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="is a directory holding no files: pass an OTLP file"):
        load_spans(empty)


def test_cli_lists_derives_and_exports_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "otel"
    folder.mkdir()
    (folder / "spans.proto").write_bytes(ENCODINGS["proto+zstd"](_messages()))
    runner = CliRunner()
    listed = runner.invoke(main, ["traces", str(folder), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["trace_id"][-2:], r["session_id"], r["total_tokens"]) for r in rows] == [
        ("a1", "s1", 15),
        ("b2", "s2", 15),
        ("c3", "s1", 15),
    ]
    out = tmp_path / "tables"
    exported = runner.invoke(main, ["export", str(folder), "-o", str(out), "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    runs = [json.loads(line) for p in sorted((out / "runs").iterdir()) for line in p.open()]
    assert sorted(r["session_id"] for r in runs) == ["s1", "s1", "s2"]


def test_an_export_derives_without_the_cycle_collectors_passes_and_turns_it_back_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading and deriving make no reference cycles: the cycle collector's automatic passes
    are off while a part is written, a pass over the young objects every COLLECT_EVERY runs
    and a full one every FULL_COLLECT_EVERY free what a library leaves, and the collector is on
    again after (as the host had it)."""
    import gc

    from otel_bridge.cli import _export

    path = tmp_path / "spans.json"
    path.write_bytes(ENCODINGS["json"](_messages()))
    seen: list[bool] = []
    passes: list[tuple[int, int]] = []  # (runs written, generation)
    real_run_json_of, real_collect = _export.run_json_of, gc.collect

    def run_json_of(run: Any) -> Any:
        seen.append(gc.isenabled())
        return real_run_json_of(run)

    monkeypatch.setattr(_export, "run_json_of", run_json_of)
    monkeypatch.setattr(_export, "COLLECT_EVERY", 1)
    monkeypatch.setattr(_export, "FULL_COLLECT_EVERY", 3)

    def collect(generation: int = 2) -> int:
        passes.append((len(seen), generation))
        return real_collect(generation)

    monkeypatch.setattr(gc, "collect", collect)
    assert gc.isenabled()
    exported = CliRunner().invoke(main, ["export", str(path), "-o", str(tmp_path / "t")])
    assert exported.exit_code == 0, exported.output
    assert seen == [False, False, False] and passes == [(1, 0), (2, 0), (3, 2)]
    assert gc.isenabled() and gc.get_freeze_count() == 0


# ---- recorded: what our collector's file exporter wrote for the demo run ----------------------

RECORDED = DATA / "fileexporter"
RECORDED_TRACE = "0b9e7a60452cd56f677913f54cfbc6a2"


@pytest.mark.parametrize(
    "name",
    ["json/spans.json", "json_zstd/spans.json.zst", "proto/spans.pb", "proto_zstd/spans.pb.zst"],
)
def test_recorded_file_exporter_output_derives_to_the_demo_run(name: str) -> None:
    (run,) = [derive(spans) for spans in select_runs(RECORDED / name)]
    assert run.trace_id == RECORDED_TRACE
    assert list(run.agents) == ["researcher", "writer"]
    assert (run.usage.total_tokens, len(run.llm_calls), len(run.tool_calls)) == (2363, 4, 3)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]


def test_a_recorded_file_cut_mid_message_keeps_the_whole_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = (RECORDED / "proto_zstd/spans.pb.zst").read_bytes()
    cut = tmp_path / "spans.pb.zst"
    cut.write_bytes(data + data[:100])  # then the start of the same run again, cut short
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        spans = load_spans(cut)
    assert len(spans) == len(load_spans(RECORDED / "proto_zstd/spans.pb.zst"))
    assert f"{cut}: skipped 1 truncated message" in caplog.text


def test_a_folder_of_recorded_outputs_joins_the_run(tmp_path: Path) -> None:
    (listed,) = list_runs(RECORDED, details=False)
    one = len(load_spans(RECORDED / "proto/spans.pb"))
    assert (listed.trace_id, listed.spans, listed.name) == (RECORDED_TRACE, 4 * one, "demo-run")


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_parallel_export_of_files_writes_every_run_once(tmp_path: Path, start: str) -> None:
    """Workers forked (Linux) or spawned (macOS, Windows, a process running threads: they get
    the files' listing pickled) each write their stretch of the runs."""
    folder = tmp_path / "otel"
    folder.mkdir()
    many = [_run(0x100 + n, f"s{n % 3}", f"answer {n}") for n in range(12)]
    for n in range(0, 12, 4):  # three rotated files of two messages of two runs
        data = _framed([_proto(many[n] + many[n + 1]), _proto(many[n + 2] + many[n + 3])])
        (folder / f"spans-2026-11-23T17-0{n // 4}-00.000.pb").write_bytes(data)
    out = tmp_path / "tables"
    # A process of its own: workers are forked only from a process running one thread.
    command = ["export", str(folder), "-o", str(out), "--format", "jsonl", "--workers", "2"]
    run_cli = (
        "import sys; from otel_bridge.cli import _export, main; "
        f"_export._start_method = lambda: {start!r}; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", run_cli, *command], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith(
        f"otel-bridge: exported 12 runs to {out} (jsonl), rows per table:\n"
        "  runs 12, agents 12, llm_calls 12, tool_calls 0, messages 24, handoffs 0,\n"
        "  delegations 0\n"
    )
    parts = sorted((out / "runs").iterdir())
    assert len(parts) == 2  # one part per worker
    runs = [json.loads(line) for p in parts for line in p.open()]
    assert sorted(r["output"] for r in runs) == sorted(f"answer {n}" for n in range(12))


def test_a_json_listing_reads_the_attributes_of_root_spans_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing wants of each span its trace, times and status; the run's labels are on its
    root span: the other spans' attributes are not read until their run is."""
    from otel_bridge.sources import _otlp_json

    path = tmp_path / "spans.json"
    messages = _messages()
    path.write_bytes(ENCODINGS["json"](messages))
    read: list[str] = []
    real = _otlp_json._attributes

    def counted(items: Any) -> Any:
        read.extend(item["key"] for item in items or ())
        return real(items)

    monkeypatch.setattr(_otlp_json, "_attributes", counted)
    source = FileSource(str(path))
    scan = source.scan()
    roots = [span for spans in messages for span in spans if span.parent_id is None]
    assert sorted(read) == sorted(key for root in roots for key in root.attributes)
    assert [(t.spans, t.root) for t in scan.traces.values()] == [(3, root) for root in roots]
    read.clear()
    assert [derive(s).output for s in source.read_traces([f"{B:032x}"])] == ["beta"]
    assert any(key.startswith("llm.") for key in read)  # read whole once its run is


def _load_json(line: bytes) -> Any:
    from otel_bridge.otlp import load_json

    return load_json(line)[0]


def _parse_request(line: bytes) -> Any:
    from otel_bridge.sources._otlp_json import parse_request

    return parse_request(line)


@pytest.mark.parametrize("parse", [_parse_request, _load_json], ids=["simdjson", "load_json"])
def test_what_a_json_listing_reads_is_what_the_records_say(parse: Any) -> None:
    from otel_bridge.sources._otlp_json import records_from_json_body, spans_seen_in_json_body

    lines = [_json(m) for m in _messages()]
    lines += (RECORDED / "json/spans.json").read_bytes().splitlines()
    for line in lines:
        records = records_from_json_body(parse(line))
        assert spans_seen_in_json_body(parse(line)) == [
            (
                r.trace_id.to_bytes(16, "big"),
                r.start_ns,
                r.end_ns,
                r.status == "ERROR",
                r if r.parent_id is None else None,
            )
            for r in records
        ]


@pytest.mark.parametrize("parse", [_parse_request, _load_json], ids=["simdjson", "load_json"])
def test_json_messages_read_straight_give_the_records_protobufs_parser_gives(parse: Any) -> None:
    from otel_bridge.otlp import decode_request_json, from_request
    from otel_bridge.sources._otlp_json import records_from_json_body

    lines = (RECORDED / "json/spans.json").read_bytes().splitlines()
    assert lines  # the collector's JSON lines: one export request each
    for line in lines:
        through_protobuf = from_request(decode_request_json(_load_json(line)))
        assert records_from_json_body(parse(line)) == through_protobuf
    odd = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "k", "value": {"kvlistValue": {"values": [
                    {"key": "a", "value": {"intValue": "7"}}]}}}]},
                "scopeSpans": [{"scope": {"name": "s"}, "spans": [{
                    "traceId": "0" * 31 + "1", "spanId": "0" * 15 + "2", "name": "n",
                    "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": "5",
                    "status": {"code": "STATUS_CODE_ERROR", "message": "m"},
                    "attributes": [
                        {"key": "d", "value": {"doubleValue": "NaN"}},
                        {"key": "b", "value": {"boolValue": True}},
                        {"key": "arr", "value": {"arrayValue": {"values": [{"intValue": 1}]}}},
                        {"key": "bytes", "value": {"bytesValue": "AAE="}},
                        {"key": "none", "value": {}},
                    ],
                }]}],
            }
        ]
    }  # fmt: skip
    straight = records_from_json_body(parse(json.dumps(odd).encode()))
    expected = from_request(decode_request_json(odd))
    assert [(r.kind, r.status, r.end_ns, dict(r.resource)) for r in straight] == [
        ("CLIENT", "ERROR", 5, {"k": '{"a": 7}'})
    ]
    assert str(straight[0].attributes["d"]) == "nan"
    assert {k: v for k, v in straight[0].attributes.items() if k != "d"} == {
        k: v for k, v in expected[0].attributes.items() if k != "d"
    }


ODD_VALUES = {
    "a lone surrogate": (rb'{"stringValue":"cut \ud83d"}', "cut \ufffd"),
    "NaN": (rb'{"doubleValue":NaN}', "nan"),
    "an integer beyond 64 bits": (b'{"intValue":' + str(2**70).encode() + b"}", str(2**70)),
}


def test_json_lines_simdjson_refuses_are_read_as_load_json_reads_them(tmp_path: Path) -> None:
    """simdjson refuses each odd line; ``load_json`` reads it (a lone surrogate as U+FFFD), and
    the listing counts what the reading reads."""
    import simdjson

    from otel_bridge.sources._otlp_json import parse_request

    body = request_to_json(to_request(_messages()[0]))  # run A: 3 spans
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "odd", "value": "@"}
    )
    template = json.dumps(body, separators=(",", ":")).encode()
    ordinary = template.replace(b'"@"', b'{"stringValue":"plain"}')
    document = parse_request(ordinary)
    assert isinstance(document, simdjson.Object)  # read lazily, as a listing wants it
    del document  # (alive, it holds its parser's memory)
    lines = [ordinary]
    for n, (raw, _) in enumerate(ODD_VALUES.values(), 1):
        line = template.replace(b'"@"', raw).replace(f"{A:032x}".encode(), f"{A + n:032x}".encode())
        with pytest.raises((ValueError, RuntimeError)):
            simdjson.Parser().parse(line)
        lines.append(line)
    path = tmp_path / "spans.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    runs = FileSource(str(path)).list_runs(RunQuery())
    listed = {run.summary.trace_id: run.summary.spans for run in runs}
    assert listed == {f"{A + n:032x}": 3 for n in range(len(lines))}
    odd = [str(s.attributes["odd"]) for s in load_spans(path) if "odd" in s.attributes]
    assert odd == ["plain", *(expected for _, expected in ODD_VALUES.values())]


def test_an_infinite_integer_is_malformed_otlp_json(tmp_path: Path) -> None:
    path = tmp_path / "spans.json"
    body = request_to_json(to_request(_messages()[0]))
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "odd", "value": "@"}
    )
    text = json.dumps(body).encode().replace(b'"@"', b'{"intValue": 1e999}')
    path.write_bytes(text + b"\n")
    with pytest.raises(SpanFormatError, match=r"spans\.json: .*malformed OTLP/JSON: OverflowError"):
        load_spans(path)
