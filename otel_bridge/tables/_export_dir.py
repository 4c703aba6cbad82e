"""The export directory: refused when in the way, staged while written, committed at once.

Layout: ``DIR/<table>/part-<id>.<ext>`` for each of the seven tables, and ``DIR/_otel_bridge.json``
(format, schema version and columns). Parts are written under a hidden staging directory
(readers skip names that start with ``.``) and moved into place by ``commit()``; ``abort()``
removes them. A new export is one rename of a whole directory; ``overwrite`` swaps the old
directory out only once the new one is complete; ``append`` moves finished part files in, one
rename each, so several writers (or a cluster's workers) can fill one export.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Literal, get_args

from ..errors import ConfigError
from ._columns import COLUMNS, SCHEMA_VERSION, TABLES

__all__ = ["FORMATS", "MANIFEST", "MODES", "ExportFormat", "ExportTarget", "WriteMode"]

ExportFormat = Literal["parquet", "csv", "jsonl"]
WriteMode = Literal["new", "append", "overwrite"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
MODES: tuple[str, ...] = get_args(WriteMode)
MANIFEST = "_otel_bridge.json"


class ExportTarget:
    """An export directory being written: ``staging`` takes part files until ``commit()``.

    ``mode``: ``new`` (the directory must not exist, or be empty), ``append`` (add parts to an
    export of the same format, creating it if needed) or ``overwrite`` (replace an export).
    ConfigError when the directory is in the way.
    """

    def __init__(
        self, directory: str | Path, format: ExportFormat = "parquet", mode: WriteMode = "new"
    ) -> None:
        if format not in FORMATS:
            raise ConfigError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        self.directory = Path(directory)
        self.format: ExportFormat = format
        self.mode: WriteMode = mode
        _check_target(self.directory, format, mode)
        self.staging = _staging_dir(self.directory, mode)
        self.finished = False

    def commit(self) -> None:
        """Move the staged parts into the export (see the module doc)."""
        if self.finished:
            return
        try:
            _commit(self.staging, self.directory, self.mode, self.format)
        except OSError as exc:
            self.abort()
            raise ConfigError(f"{self.directory}: cannot write the export: {exc}") from exc
        self.finished = True

    def abort(self) -> None:
        """Remove the staged parts; the directory stays as it was."""
        self.finished = True
        shutil.rmtree(self.staging, ignore_errors=True)


def _manifest(format: ExportFormat) -> dict[str, Any]:
    return {
        "format": format,
        "schema_version": SCHEMA_VERSION,
        "tables": {t: [list(c) for c in COLUMNS[t]] for t in TABLES},
    }


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{directory}: unreadable {MANIFEST}: {exc}") from exc
    return data if isinstance(data, dict) else None


def _check_target(directory: Path, format: ExportFormat, mode: WriteMode) -> None:
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: exists and is not a directory")
    if not directory.exists():
        if not directory.parent.is_dir():
            raise ConfigError(f"{directory}: cannot create it, {directory.parent} does not exist")
        return
    if not any(directory.iterdir()):
        return  # an empty directory: made ready for us
    manifest = _read_manifest(directory)
    if mode == "new":
        raise ConfigError(
            f"{directory}: already exists; pass --append to add to it or --overwrite to replace it"
        )
    if manifest is None:
        raise ConfigError(
            f"{directory}: not an otel-bridge export (no {MANIFEST}); refusing to {mode} it"
        )
    if mode == "append":
        found = (manifest.get("format"), manifest.get("schema_version"))
        if found != (format, SCHEMA_VERSION):
            raise ConfigError(
                f"{directory}: holds {found[0]} tables of schema {found[1]}; cannot append "
                f"{format} tables of schema {SCHEMA_VERSION}"
            )


def _staging_dir(directory: Path, mode: WriteMode) -> Path:
    """A hidden directory for the parts being written: inside the export when appending."""
    name = f".{directory.name}.tmp-{uuid.uuid4().hex[:12]}"
    if mode == "append":
        directory.mkdir(exist_ok=True)
        staging = directory / name
    else:
        staging = directory.parent / name
    staging.mkdir()
    return staging


def _commit(staging: Path, directory: Path, mode: WriteMode, format: ExportFormat) -> None:
    _write_manifest(staging, format)
    if mode == "append":
        if _read_manifest(directory) is None:
            _write_manifest(directory, format)
        for table in TABLES:
            (directory / table).mkdir(exist_ok=True)
            for part in (staging / table).iterdir():
                os.replace(part, directory / table / part.name)
        shutil.rmtree(staging)
        return
    if directory.exists():
        if mode == "new" or not any(directory.iterdir()):
            directory.rmdir()  # empty (checked at the start); fails if something came since
        else:
            old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:12]}"
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
            return
    staging.rename(directory)


def _write_manifest(directory: Path, format: ExportFormat) -> None:
    """Written whole, then renamed: concurrent appenders write the same bytes."""
    path = directory / MANIFEST
    temporary = directory / f".{MANIFEST}.{uuid.uuid4().hex[:12]}"
    temporary.write_text(json.dumps(_manifest(format), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)
