"""Writing reports to disk, all or nothing: a page, or a directory of pages with an index.

A page is written to a temporary file beside its target and renamed over it; a directory is
built in a temporary directory beside its target and renamed into place at the end, so a
failure (a bad trace, a full disk, Ctrl-C) leaves the old report or nothing, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..run_json import as_run_json
from ..spans import format_trace_id
from ._html import index_page, run_href, run_html
from ._page import index_row

__all__ = ["INDEX", "write_report_dir", "write_run_report"]

INDEX = "index.html"


def _encode(page: str) -> bytes:
    # Span text may hold lone surrogates, which UTF-8 cannot carry: shown as U+FFFD instead.
    return page.encode("utf-8", "replace")


def write_run_report(trace: Any, path: str | Path) -> Path:
    """Write one run's page to ``path`` (replaced if it exists); the path written."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; give a file name for the report")
    page = _encode(run_html(trace))
    _prepare_parent(path)
    temporary = _beside(path, "tmp")
    try:
        with open(temporary, "xb") as out:
            out.write(page)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return path


def write_report_dir(
    traces: Iterable[Any],
    directory: str | Path,
    *,
    overwrite: bool = False,
    title: str = "otel-bridge runs",
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a page per run and ``index.html`` linking them into ``directory``; its path.

    ``directory`` must not exist or be empty, unless ``overwrite`` (then it is replaced whole,
    once every page is written). ``progress(n)`` is called after each page.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not overwrite:
        raise ConfigError(f"{directory} exists and is not empty; choose to overwrite it")
    _prepare_parent(directory)
    building = _beside(directory, "new")
    try:
        building.mkdir()
    except OSError as exc:
        raise ConfigError(f"cannot write into {directory.parent}: {exc.strerror or exc}") from exc
    try:
        rows = []
        for done, trace in enumerate(traces, start=1):
            data = as_run_json(trace)
            name = run_href(format_trace_id(data["trace_id"]))
            (building / name).write_bytes(_encode(run_html(data, index_href=INDEX)))
            rows.append(index_row(data, name))
            if progress is not None:
                progress(done)
        (building / INDEX).write_bytes(_encode(index_page(rows, title=title)))
        _swap_in(building, directory)
    except BaseException as exc:
        shutil.rmtree(building, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write {directory}: {exc.strerror or exc}") from exc
        raise
    return directory


def _beside(path: Path, what: str) -> Path:
    """A fresh hidden name next to ``path`` (made by the caller: the umask applies, unlike
    ``tempfile``'s private 0600/0700 modes, so the report is readable like any other file)."""
    return path.with_name(f".{path.name}.{what}-{secrets.token_hex(6)}")


def _prepare_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc


def _swap_in(built: Path, directory: Path) -> None:
    """Put ``built`` at ``directory``; an old ``directory`` is removed only once that worked."""
    if not directory.exists():
        os.rename(built, directory)
        return
    old = _beside(directory, "old")
    os.rename(directory, old)
    try:
        os.rename(built, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)
