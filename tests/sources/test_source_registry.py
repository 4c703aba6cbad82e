"""A new kind of source is one class: the syntax, load_spans, run planning and help follow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.records import handoff_trace

from otel_bridge import SourceError, derive, load_spans
from otel_bridge.sources import (
    Listed,
    RunQuery,
    SpanSource,
    _source,
    list_runs,
    listed_spans,
    parse_source,
    register,
    registered,
    select_runs,
    sources_help,
)
from otel_bridge.spans import SpanRecord

SPANS = handoff_trace().spans
TRACE = SPANS[0].trace_id_hex


class StaticSource(SpanSource):
    """A server that always holds the one handoff run (what a new module would define)."""

    scheme = "static"
    example = "static+http://HOST"
    description = "a server of one run, for tests"

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        if trace_id != TRACE:
            raise SourceError(f"{self.location}: no trace {trace_id}")
        return list(SPANS)

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        listed = listed_spans(list(SPANS))
        yield Listed(listed.summary)  # like a server: the spans are read later


@pytest.fixture
def static() -> Iterator[type[SpanSource]]:
    register(StaticSource)
    try:
        yield StaticSource
    finally:
        _source._REGISTRY.pop(StaticSource.scheme)


def test_a_registered_source_is_in_the_syntax_the_help_and_every_reader(
    static: type[SpanSource],
) -> None:
    assert parse_source("static+http://h:1") == ("static", "http://h:1", None)
    assert "static+http://HOST" in sources_help()
    assert list(registered())[-1] == "static"
    assert len(load_spans("static+http://h:1")) == len(SPANS)  # its only run, asked for
    (summary,) = list_runs("static+http://h:1")
    assert (summary.trace_id, summary.agents) == (TRACE, ("researcher", "writer"))
    (spans,) = select_runs("static+http://h:1")
    assert derive(spans).trace_id == TRACE
    with pytest.raises(ValueError, match="a source is already registered as 'static'"):

        class Other(StaticSource):
            pass

        register(Other)


def test_the_help_fits_80_columns() -> None:
    lines = sources_help().splitlines()
    assert lines[:2] == ["\b", "SOURCE is one of:"]
    assert [line.split()[0] for line in lines[2:]] == [
        "run.otlp.json,",
        "http://127.0.0.1:4318",
        "jaeger+http://127.0.0.1:16686",
        "jaeger-legacy+http://HOST:16686",
        "phoenix+http://127.0.0.1:6006/PROJ",
    ]
    assert max(len(line) for line in lines) + 2 <= 80  # click indents the epilog by 2
