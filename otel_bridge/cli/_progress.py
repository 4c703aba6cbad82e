"""A progress bar for commands that go through many runs: on a terminal only, on stderr.

Piped or redirected, nothing is drawn, so stdout (JSON Lines) and logs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress"]

T = TypeVar("T")


def progress(
    items: Iterable[T], total: int, what: str, *, stdout_shared: bool = False
) -> Iterator[T]:
    """The items, with a bar counting them when stderr is a terminal (and ``total`` > 1).

    ``stdout_shared``: the command prints on stdout as it goes; no bar when that is the same
    terminal, where the bar and the output would tear each other up.
    """
    if total < 2 or not sys.stderr.isatty() or (stdout_shared and sys.stdout.isatty()):
        yield from items
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,  # the bar goes once done: the summary line that follows says it all
    )
    with bar:
        task = bar.add_task(what, total=total)
        for item in items:
            yield item
            bar.advance(task)
