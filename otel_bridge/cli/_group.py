"""How every ``otel-bridge`` command fails and explains itself.

Every error, ours or a usage error click finds (a bad ``--format``, a missing argument), is one
line on stderr, ``otel-bridge: error: ...``, with exit code 2. Help is laid out for 80 columns:
a command's description is its first sentence, whole; an option's ``[default: ...]`` and
``[env var: ...]`` notes are never broken across lines, nor is a word at its hyphen.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from ..errors import OtelBridgeError

__all__ = ["Group", "fail"]

USAGE_EXIT = 2
# A bracketed note at the end of an option's help: kept on one line.
_NOTE = re.compile(r"\[(?:default|env var|required)[^\]]*\]")
_SPACE, _HYPHEN = "\x00", "\x01"  # neither is a place textwrap may break at


def fail(message: str, code: int = USAGE_EXIT) -> None:
    """Print one error line and exit."""
    click.echo(f"otel-bridge: error: {message}", err=True)
    sys.exit(code)


def _glue(text: str) -> str:
    """Text where a note stays whole and no word breaks at its hyphen (``--trace-id``)."""
    notes = _NOTE.sub(lambda match: match.group(0).replace(" ", _SPACE), text)
    return notes.replace("-", _HYPHEN)


class _Formatter(click.HelpFormatter):
    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        start = len(self.buffer)
        super().write_dl([(a, _glue(b)) for a, b in rows], col_max, col_spacing)
        self._unglue(start)

    def write_text(self, text: str) -> None:
        start = len(self.buffer)
        super().write_text(_glue(text))
        self._unglue(start)

    def _unglue(self, start: int) -> None:
        self.buffer[start:] = [
            part.replace(_SPACE, " ").replace(_HYPHEN, "-") for part in self.buffer[start:]
        ]


class _Context(click.Context):
    formatter_class = _Formatter


def _first_sentence(command: click.Command) -> str:
    if command.short_help:
        return command.short_help
    paragraph = " ".join((command.help or "").split("\n\n")[0].split())
    sentence = re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0]
    return sentence


class Group(click.Group):
    """A command group whose errors are one line and whose help fits 80 columns."""

    context_class = _Context

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register ``cmd`` (and, for a group, its commands) with this group's help layout."""
        _adopt(cmd)
        super().add_command(cmd, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its first sentence, wrapped rather than cut."""
        rows = [
            (name, _first_sentence(command))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; our errors become one line and exit code 2."""
        try:
            return super().invoke(ctx)
        except OtelBridgeError as exc:
            fail(str(exc))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As click's, with its usage errors and exceptions as one line each."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            fail(f"{_sentence(exc.format_message())} (see: {_command_path(exc.ctx)} --help)")
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _sentence(message: str) -> str:
    """Click's message as a clause of our line: lower-case start, no full stop."""
    message = " ".join(message.split()).rstrip(".")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _command_path(ctx: click.Context | None) -> str:
    """``otel-bridge`` and the subcommands, however the program was started."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["otel-bridge", *reversed(names)])


def _adopt(command: click.Command) -> None:
    command.context_class = _Context
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _adopt(sub)
