"""What the commands over runs share: the source syntax help, options, the selection, and one
run named as ``SOURCE#TRACE_ID`` (``split_run``, ``RunSelection.one_run``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from ..collector import TOKEN_ENV
from ..compare import export_runs
from ..derivation import ModelPrice, derive
from ..errors import ConfigError, SourceError, TraceIdError
from ..report import plural
from ..run_json import RunTraceJSON
from ..sources import (
    SOURCE_KINDS,
    Runs,
    RunSummary,
    list_runs,
    load_spans,
    only_run,
    parse_source,
    run_json_of,
    select_runs,
    sources_help,
)
from ..spans import SpanRecord, format_trace_id, group_by_trace
from ..tables import is_export

__all__ = [
    "RUN_HELP",
    "SOURCES_HELP",
    "RunSelection",
    "filter_options",
    "note_open",
    "one_trace_id",
    "run_jsons",
    "source_options",
    "split_run",
    "with_selection",
]

F = TypeVar("F", bound=Callable[..., Any])


SOURCES_HELP = sources_help()  # the registered sources, one line each

RUN_HELP = (
    SOURCES_HELP
    + """
\b
A RUN is a SOURCE holding one run, or SOURCE#TRACE_ID: run.otlp.json#4bf9...,
http://127.0.0.1:4318#4bf9..., or an export directory: results/tables#4bf9...
"""
)


def split_run(reference: str) -> tuple[str, str | None]:
    """``SOURCE#TRACE_ID`` as (SOURCE, the trace id as 32 hex characters); no '#': (it, None).

    A file whose name has a '#' is taken whole when it exists. TraceIdError when what follows
    the last '#' is not a trace id.
    """
    source, hash_mark, tail = reference.rpartition("#")
    if not hash_mark or Path(reference).exists():
        return reference, None
    if not source:
        raise ConfigError(f"{reference}: a source comes before the '#': SOURCE#TRACE_ID")
    try:
        return source, format_trace_id(tail)
    except TraceIdError:
        raise TraceIdError(
            f"{reference}: after the '#' comes a trace id (32 hex characters), got {tail[:40]!r}"
        ) from None


def one_trace_id(reference: str, option: str | None) -> tuple[str, str | None]:
    """The source and trace id of a command given ``SOURCE[#TRACE_ID]`` and ``--trace-id``."""
    source, named = split_run(reference)
    if named is not None and option is not None:
        raise ConfigError(f"the trace id is given twice ({source}#... and --trace-id): keep one")
    return source, named or option


def source_options(command: F) -> F:
    options = [
        click.option(
            "--kind",
            type=click.Choice(SOURCE_KINDS),
            help="Source type of a plain URL (instead of a 'phoenix+' / 'jaeger+' prefix).",
        ),
        click.option(
            "--project", help="Phoenix project (default: the URL's last part, or 'default')."
        ),
        click.option("--service", help="Jaeger service to search (default: every service)."),
        click.option(
            "--token", envvar=TOKEN_ENV, show_envvar=True, help="Bearer token for a URL source."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filter_options(limit_help: str, *, open_runs: bool = True) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        options = [
            click.option(
                "--since", help="Runs that started at or after: ISO-8601, or an age (30m, 2h, 7d)."
            ),
            click.option("--until", help="Runs that started before: ISO-8601, or an age."),
            click.option("--session", help="Runs of this session id (session.id)."),
            click.option("--limit", type=click.IntRange(0), help=limit_help),
        ]
        if open_runs:
            options.append(
                click.option(
                    "--include-open",
                    is_flag=True,
                    help="Also runs without a root span yet (still running).",
                )
            )
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# ---- the selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSelection:
    """The runs a command reads from its SOURCE: the run filters and the source options."""

    since: str | None = None
    until: str | None = None
    session: str | None = None
    limit: int | None = None
    include_open: bool = False
    kind: str | None = None
    project: str | None = None
    service: str | None = None
    token: str | None = None

    @property
    def filtered(self) -> bool:
        """True when --since, --until or --session narrow the runs."""
        return bool(self.since or self.until or self.session)

    def runs(self, source: str) -> Runs:
        """The selected runs, read when iterated (--limit 0: all); SourceError when none."""
        runs = select_runs(
            source,
            since=self.since,
            until=self.until,
            session=self.session,
            limit=self.limit or None,
            include_open=self.include_open,
            kind=self.kind,
            project=self.project,
            service=self.service,
            token=self.token,
        )
        if len(runs):
            return runs
        if runs.skipped_open:
            raise SourceError(
                f"{source}: {_open_runs(len(runs.skipped_open))} no root span yet (still "
                "running?); --include-open derives them as they are"
            )
        if self.filtered:
            raise SourceError(f"{source}: no runs match --since/--until/--session")
        if parse_source(source, self.kind)[0] == "file":
            raise SourceError(f"{source}: holds no spans")
        raise SourceError(f"{source}: holds no runs")

    def summaries(self, source: str, limit: int | None, details: bool) -> Iterator[RunSummary]:
        """The selected runs as listed by the source, at most ``limit`` (None: all)."""
        return list_runs(
            source,
            since=self.since,
            until=self.until,
            session=self.session,
            limit=limit,
            details=details,
            kind=self.kind,
            project=self.project,
            service=self.service,
            token=self.token,
        )

    def only_run(self, source: str, every_run: str = "--all") -> str:
        """The trace id of the one run a server holds; SourceError saying how many else."""
        return only_run(
            source,
            kind=self.kind,
            project=self.project,
            service=self.service,
            token=self.token,
            every_run=every_run,
        )

    def spans(self, source: str, trace_id: str | None) -> list[SpanRecord]:
        """The spans of one run (of every run, for a file)."""
        return load_spans(source, trace_id, project=self.project, token=self.token, kind=self.kind)

    def one_run(
        self, reference: str, prices: Mapping[str, ModelPrice] | None = None
    ) -> RunTraceJSON:
        """The RunTrace JSON of the one run ``reference`` names (``SOURCE#TRACE_ID``, or a
        source holding one run); SourceError when it names no run, or several."""
        source, trace_id = split_run(reference)
        if is_export(source):
            runs = export_runs(source)
            if trace_id is not None:
                runs = [r for r in runs if r["trace_id"] == trace_id]
                if not runs:
                    raise SourceError(f"{source}: the export holds no run {trace_id}")
            if len(runs) > 1:
                raise SourceError(
                    f"{source} holds {len(runs)} runs: name one as {source}#TRACE_ID (the "
                    f"first is {runs[0]['trace_id']})"
                )
            if not runs:
                raise SourceError(f"{source}: the export holds no runs")
            return runs[0]
        if trace_id is None:
            if parse_source(source, self.kind)[0] == "file":
                groups = group_by_trace(self.spans(source, None))
                if not groups:
                    raise SourceError(f"{source}: holds no spans")
                _the_one(source, [f"{t:032x}" for t in groups])
                return derive(next(iter(groups.values())), prices=prices).to_dict()
            found = [s.trace_id for s in self.summaries(source, 2, details=False)]
            trace_id = _the_one(source, found)
        return derive(self.spans(source, trace_id), trace_id, prices=prices).to_dict()


def run_jsons(runs: Runs, prices: Mapping[str, ModelPrice] | None) -> Iterator[RunTraceJSON]:
    """The RunTrace JSON of each selected run, one at a time: as its source derived it already
    (a collector) where that is what deriving here would give (the bundled prices), else
    derived here from its spans."""
    if prices is not None:
        return (derive(spans, prices=prices).to_dict() for spans in runs)
    return (run_json_of(run) for run in runs.derivable())


def with_selection(command: Callable[..., None]) -> Callable[..., None]:
    """Hands a command its run filters and source options as one ``selection`` argument.

    Put it under the command's option decorators, right above the function.
    """
    names = {field.name for field in fields(RunSelection)}

    @functools.wraps(command)
    def run(**params: Any) -> None:
        chosen = {name: params.pop(name) for name in names & params.keys()}
        command(selection=RunSelection(**chosen), **params)

    return run


def _the_one(source: str, trace_ids: list[str]) -> str:
    """The one trace id of a source; SourceError when it holds none or several."""
    if not trace_ids:
        raise SourceError(f"{source}: holds no runs")
    if len(trace_ids) > 1:
        raise SourceError(
            f"{source} holds several runs: name one as {source}#TRACE_ID (list them with: "
            f"otel-bridge traces {source}; the first is {trace_ids[0]})"
        )
    return trace_ids[0]


def note_open(runs: Runs) -> None:
    if runs.skipped_open:
        click.echo(
            f"otel-bridge: skipped {plural(len(runs.skipped_open), 'open run')} without a root "
            "span (still running?); --include-open derives them",
            err=True,
        )


def _open_runs(number: int) -> str:
    return "its run has" if number == 1 else f"its {number:,} runs have"
