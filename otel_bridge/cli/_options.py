"""What the commands over many runs share: the source syntax help, options, selection checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..collector import TOKEN_ENV
from ..errors import SourceError
from ..sources import SOURCE_KINDS, Runs

__all__ = [
    "SOURCES_HELP",
    "check_selected",
    "filter_options",
    "note_open",
    "source_options",
]

F = TypeVar("F", bound=Callable[..., Any])


SOURCES_HELP = """\b
SOURCE is one of:
run.otlp.json                        OTLP/JSON file
http://127.0.0.1:4318                otel-bridge collector
phoenix+http://127.0.0.1:6006/PROJ   Arize Phoenix REST API, project PROJ
jaeger+http://127.0.0.1:16686        Jaeger query (API v3, else legacy)
jaeger-legacy+http://HOST:16686      Jaeger's legacy /api/traces only
"""


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


def filter_options(limit_help: str) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        options = [
            click.option(
                "--since", help="Runs that started at or after: ISO-8601, or an age (30m, 2h, 7d)."
            ),
            click.option("--until", help="Runs that started before: ISO-8601, or an age."),
            click.option("--session", help="Runs of this session id (session.id)."),
            click.option("--limit", type=click.IntRange(0), help=limit_help),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# ---- derive --------------------------------------------------------------------------------------


def check_selected(runs: Runs, source: str, source_kind: str, filtered: bool) -> None:
    """SourceError when nothing was selected, saying why."""
    if len(runs):
        return
    if runs.skipped_open:
        raise SourceError(
            f"{source}: its {len(runs.skipped_open)} run(s) have no root span yet (still "
            "running?); --include-open derives them as they are"
        )
    if filtered:
        raise SourceError(f"{source}: no runs match --since/--until/--session")
    if source_kind == "file":
        raise SourceError(f"{source}: holds no spans")
    raise SourceError(f"{source}: holds no runs")


def note_open(runs: Runs) -> None:
    if runs.skipped_open:
        click.echo(
            f"otel-bridge: skipped {len(runs.skipped_open)} open run(s) without a root span "
            "(still running?); --include-open derives them",
            err=True,
        )


# ---- traces --------------------------------------------------------------------------------------
