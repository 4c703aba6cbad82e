"""Progress for commands that go through many runs, and the worker processes that share them.

The bar is drawn on stderr, on a terminal only: piped or redirected, nothing is drawn, so
stdout (JSON Lines) and logs stay clean. ``run_parallel`` runs jobs in worker processes
(spawned unless the caller knows forking is safe) and counts the runs they report on the same
bar.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import OtelBridgeError

__all__ = ["StartMethod", "counting", "progress", "run_parallel"]

StartMethod = Literal["spawn", "fork"]
T = TypeVar("T")
R = TypeVar("R")


def _shown(total: int, stdout_shared: bool) -> bool:
    """A bar only on a terminal, for more than one item, and not over output on the same one."""
    return total >= 2 and sys.stderr.isatty() and not (stdout_shared and sys.stdout.isatty())


def counting(total: int, what: str) -> Any:
    """A context giving ``advance(n)`` for a bar of ``total`` items (see ``progress``)."""
    return _bar(total, what, _shown(total, False))


@contextmanager
def _bar(total: int, what: str, shown: bool) -> Iterator[Callable[[int], None]]:
    if not shown:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,  # the bar goes once done: the summary line that follows says it all
        redirect_stdout=False,  # stdout carries the JSON Lines, never into the bar's console
        redirect_stderr=False,
    )
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


def progress(
    items: Iterable[T], total: int, what: str, *, stdout_shared: bool = False
) -> Iterator[T]:
    """The items, with a bar counting them when stderr is a terminal (and ``total`` > 1).

    ``stdout_shared``: the command prints on stdout as it goes; no bar when that is the same
    terminal, where the bar and the output would tear each other up.
    """
    with _bar(total, what, _shown(total, stdout_shared)) as advance:
        for item in items:
            yield item
            advance(1)


def run_parallel(
    work: Callable[..., R],
    jobs: Sequence[tuple[Any, ...]],
    total: int,
    what: str,
    start_method: StartMethod = "spawn",
) -> list[R]:
    """``work(*job, report)`` for each job, each in its own process; their results in order.

    ``work`` must be a module-level function (it is imported by spawned workers) and call
    ``report(n)`` as it finishes items, for the bar. The first failure stops every worker and
    is raised here (an OtelBridgeError as itself). ``start_method`` "fork" saves each worker
    its imports, and is safe only while this process runs no other thread.
    """
    context: Any = multiprocessing.get_context(start_method)  # a Fork- or SpawnContext
    if start_method == "fork":  # a forked worker would write again what is still buffered
        sys.stdout.flush()
        sys.stderr.flush()
    messages: Any = context.Queue()
    workers = [
        context.Process(target=_worker, args=(index, work, job, messages), daemon=True)
        for index, job in enumerate(jobs)
    ]
    results: dict[int, R] = {}
    try:
        for worker in workers:
            worker.start()
        with _bar(total, what, _shown(total, False)) as advance:
            while len(results) < len(workers):
                try:
                    message = messages.get(timeout=0.5)
                except queue.Empty:
                    _check_alive(workers, results)
                    continue
                kind, index, payload = message
                if kind == "tick":
                    advance(payload)
                elif kind == "done":
                    results[index] = payload
                else:
                    raise payload
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join(10)
    return [results[index] for index in range(len(workers))]


def _check_alive(workers: list[Any], results: dict[int, Any]) -> None:
    for index, worker in enumerate(workers):
        if index not in results and worker.exitcode is not None:
            raise OtelBridgeError(f"worker {index + 1} died (exit code {worker.exitcode})")


def _worker(index: int, work: Callable[..., Any], job: tuple[Any, ...], messages: Any) -> None:
    try:
        result = work(*job, lambda n=1: messages.put(("tick", index, n)))
    except BaseException as exc:  # sent to the parent, which raises it
        messages.put(("error", index, _portable(exc)))
        return
    messages.put(("done", index, result))


def _portable(exc: BaseException) -> BaseException:
    """The error itself when it crosses processes intact, else its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return OtelBridgeError(f"{type(exc).__name__}: {exc}")
    return exc
