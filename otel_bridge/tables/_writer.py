"""Writing the tables to a directory: Parquet, CSV or JSON Lines, in bounded memory.

Layout: ``DIR/<table>/part-<id>.<ext>`` for each of the six tables, and ``DIR/_otel_bridge.json``
(format and columns). Each writer adds one part file per table, so several writers (the
workers of a cluster, or successive ``--append`` exports) can fill one directory, and DuckDB
(``read_parquet('DIR/runs/*.parquet')``), Polars, pandas or Spark (``DIR/runs``) read the whole.

Memory: rows are buffered per table and written out every ``batch_rows`` rows (a Parquet row
group), so a writer holds a few batches whatever the number of runs.

Nothing half-written: parts are written under a hidden temporary directory (readers skip
names that start with ``.``) and moved into place by ``close()``; a failure removes them. A new
export is one rename of a whole directory; ``overwrite`` swaps the old directory out only once
the new one is complete; ``append`` moves the finished part files in, one rename each.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, get_args

from ..errors import ConfigError
from ..run_trace import RunTrace
from ._columns import COLUMNS, SCHEMA_VERSION, TABLES, TableName
from ._rows import rows_of

__all__ = ["BATCH_ROWS", "MANIFEST", "ExportFormat", "TableWriter", "WriteMode", "write_tables"]

ExportFormat = Literal["parquet", "csv", "jsonl"]
WriteMode = Literal["new", "append", "overwrite"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
MODES: tuple[str, ...] = get_args(WriteMode)
MANIFEST = "_otel_bridge.json"
BATCH_ROWS = 20_000


class TableWriter:
    """Adds runs to the six tables under ``directory``; visible only once ``close()`` returns.

    ``mode``: ``new`` (the directory must not exist, or be empty), ``append`` (add a part to
    an export of the same format, creating it if needed) or ``overwrite`` (replace an
    export). ConfigError when the directory is in the way or the format needs a missing
    package. Use it as a context manager: an exception discards what was written.
    """

    def __init__(
        self,
        directory: str | Path,
        format: ExportFormat = "parquet",
        mode: WriteMode = "new",
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        if format not in FORMATS:
            raise ConfigError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if batch_rows < 1:
            raise ConfigError(f"batch_rows must be at least 1, got {batch_rows}")
        self.directory = Path(directory)
        self.format: ExportFormat = format
        self.mode: WriteMode = mode
        self.batch_rows = batch_rows
        self.part = uuid.uuid4().hex
        self.runs = 0
        self.rows: dict[TableName, int] = dict.fromkeys(TABLES, 0)
        self._buffers: dict[TableName, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self._sinks: dict[TableName, _Sink] = {}
        self._closed = False
        _check_target(self.directory, format, mode)
        self._staging = _staging_dir(self.directory, mode)
        try:
            self._sinks = {t: _open_sink(self._staging, t, self.part, format) for t in TABLES}
        except BaseException:
            self._discard()
            raise

    def add(self, trace: RunTrace | Mapping[str, Any]) -> None:
        """Add one run (a RunTrace or its JSON)."""
        if self._closed:
            raise ConfigError(f"{self.directory}: this export is already closed")
        for table, rows in rows_of(trace).items():
            buffer = self._buffers[table]
            buffer.extend(rows)
            if len(buffer) >= self.batch_rows:
                self._flush(table)
        self.runs += 1

    def close(self) -> dict[TableName, int]:
        """Write what is buffered and move the parts into place; rows written per table."""
        if self._closed:
            return dict(self.rows)
        try:
            for table in TABLES:
                self._flush(table)
                self._sinks[table].close()
            _commit(self._staging, self.directory, self.mode, self.format)
        except OSError as exc:
            self._discard()
            raise ConfigError(f"{self.directory}: cannot write the export: {exc}") from exc
        except BaseException:
            self._discard()
            raise
        self._closed = True
        return dict(self.rows)

    def abort(self) -> None:
        """Discard everything this writer wrote; the directory stays as it was."""
        if not self._closed:
            self._discard()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _flush(self, table: TableName) -> None:
        buffer = self._buffers[table]
        if buffer:
            try:
                self._sinks[table].write(buffer)
            except OSError as exc:
                raise ConfigError(f"{self.directory}: cannot write the export: {exc}") from exc
            self.rows[table] += len(buffer)
            self._buffers[table] = []

    def _discard(self) -> None:
        self._closed = True
        for sink in self._sinks.values():
            sink.close(quiet=True)
        shutil.rmtree(self._staging, ignore_errors=True)


def write_tables(
    traces: Iterable[RunTrace | Mapping[str, Any]],
    directory: str | Path,
    format: ExportFormat = "parquet",
    mode: WriteMode = "new",
) -> dict[TableName, int]:
    """Write runs (RunTraces or their JSON) as the six tables; rows written per table."""
    with TableWriter(directory, format, mode) as writer:
        for trace in traces:
            writer.add(trace)
    return writer.close()


# ---- the directory -------------------------------------------------------------------------------


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


# ---- one table's part file -----------------------------------------------------------------------


class _Sink:
    """One part file of one table."""

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def close(self, quiet: bool = False) -> None:
        raise NotImplementedError


def _open_sink(staging: Path, table: TableName, part: str, format: ExportFormat) -> _Sink:
    folder = staging / table
    folder.mkdir()
    path = folder / f"part-{part}.{format}"
    if format == "parquet":
        return _ParquetSink(path, table)
    if format == "csv":
        return _CsvSink(path, table)
    return _JsonLinesSink(path, table)


class _ParquetSink(_Sink):
    def __init__(self, path: Path, table: TableName) -> None:
        from ._arrow import arrow_schema, parquet

        self._schema = arrow_schema(table)
        self._writer = parquet().ParquetWriter(path, self._schema, compression="zstd")
        self._table = table

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        from ._arrow import arrow_table

        self._writer.write_table(arrow_table(self._table, rows), row_group_size=len(rows))

    def close(self, quiet: bool = False) -> None:
        try:
            self._writer.close()
        except Exception:
            if not quiet:
                raise


class _TextSink(_Sink):
    def __init__(self, path: Path, table: TableName) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._columns = [name for name, _ in COLUMNS[table]]

    def close(self, quiet: bool = False) -> None:
        self._file.close()


class _CsvSink(_TextSink):
    """RFC 4180 CSV with a header; null is an empty field, booleans are true/false."""

    def __init__(self, path: Path, table: TableName) -> None:
        super().__init__(path, table)
        self._csv = csv.writer(self._file)
        self._csv.writerow(self._columns)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        self._csv.writerows(
            [_BOOL.get(v, v) if v is True or v is False else v for v in row] for row in rows
        )


_BOOL = {True: "true", False: "false"}


class _JsonLinesSink(_TextSink):
    def write(self, rows: list[tuple[Any, ...]]) -> None:
        columns = self._columns
        self._file.writelines(
            json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False) + "\n"
            for row in rows
        )
