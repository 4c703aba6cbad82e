"""What the commands over many runs share: the source syntax help, options, the selection."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import click

from ..collector import TOKEN_ENV
from ..errors import SourceError
from ..report import plural
from ..sources import (
    SOURCE_KINDS,
    Runs,
    RunSummary,
    list_runs,
    load_spans,
    only_run,
    parse_source,
    select_runs,
    sources_help,
)
from ..spans import SpanRecord

__all__ = [
    "SOURCES_HELP",
    "RunSelection",
    "filter_options",
    "note_open",
    "source_options",
    "with_selection",
]

F = TypeVar("F", bound=Callable[..., Any])


SOURCES_HELP = sources_help()  # the registered sources, one line each


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


def note_open(runs: Runs) -> None:
    if runs.skipped_open:
        click.echo(
            f"otel-bridge: skipped {plural(len(runs.skipped_open), 'open run')} without a root "
            "span (still running?); --include-open derives them",
            err=True,
        )


def _open_runs(number: int) -> str:
    return "its run has" if number == 1 else f"its {number:,} runs have"
