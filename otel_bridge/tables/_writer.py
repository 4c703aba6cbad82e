"""Writing the tables in bounded memory: part files of Parquet, CSV or JSON Lines.

A ``PartWriter`` adds one part file per table to a staging directory; rows are buffered per
table and written out every ``batch_rows`` rows (a Parquet row group), so a writer holds a few
batches whatever the number of runs. ``TableWriter`` is one part in one ``ExportTarget``
(``_export_dir``): what ``write_tables`` and a single-process export use.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..errors import ConfigError
from ..run_trace import RunTrace
from ._columns import COLUMNS, TABLES, TableName
from ._export_dir import ExportFormat, ExportTarget, WriteMode
from ._rows import rows_of

__all__ = ["BATCH_ROWS", "PartWriter", "TableWriter", "write_tables"]

BATCH_ROWS = 20_000


class PartWriter:
    """One part of every table, written into ``staging`` (an ``ExportTarget``'s).

    Its errors name ``export``, the directory the export is for (default: ``staging``): the
    staging directory is hidden, and gone once the export is discarded.
    """

    def __init__(
        self,
        staging: str | Path,
        format: ExportFormat,
        *,
        batch_rows: int = BATCH_ROWS,
        export: str | Path | None = None,
    ) -> None:
        if batch_rows < 1:
            raise ConfigError(f"batch_rows must be at least 1, got {batch_rows}")
        self.staging = Path(staging)
        self.export = self.staging if export is None else Path(export)
        self.batch_rows = batch_rows
        self.part = uuid.uuid4().hex
        self.runs = 0
        self.rows: dict[TableName, int] = dict.fromkeys(TABLES, 0)
        self._buffers: dict[TableName, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self._sinks: dict[TableName, _Sink] = {}
        try:
            for table in TABLES:
                self._sinks[table] = _open_sink(self.staging, table, self.part, format)
        except OSError as exc:
            self.abort()
            raise ConfigError(f"{self.export}: cannot write the export: {exc}") from exc

    def add(self, trace: RunTrace | Mapping[str, Any]) -> None:
        """Add one run (a RunTrace or its JSON)."""
        for table, rows in rows_of(trace).items():
            buffer = self._buffers[table]
            buffer.extend(rows)
            if len(buffer) >= self.batch_rows:
                self._flush(table)
        self.runs += 1

    def close(self) -> dict[TableName, int]:
        """Write what is buffered and close the files; rows written per table."""
        for table in TABLES:
            self._flush(table)
            try:
                self._sinks[table].close()
            except OSError as exc:
                raise ConfigError(f"{self.export}: cannot write the export: {exc}") from exc
        return dict(self.rows)

    def abort(self) -> None:
        """Close the files without writing what is buffered (the staging is discarded)."""
        for sink in self._sinks.values():
            sink.close(quiet=True)

    def _flush(self, table: TableName) -> None:
        buffer = self._buffers[table]
        if buffer:
            try:
                self._sinks[table].write(buffer)
            except OSError as exc:
                raise ConfigError(f"{self.export}: cannot write the export: {exc}") from exc
            self.rows[table] += len(buffer)
            self._buffers[table] = []


class TableWriter:
    """Adds runs to the seven tables under ``directory``; visible only once ``close()`` returns.

    One part per table in an ``ExportTarget`` (``mode``: ``new``, ``append``, ``overwrite``).
    ConfigError when the directory is in the way or the format needs a missing package. As a
    context manager, an exception discards what was written.
    """

    def __init__(
        self,
        directory: str | Path,
        format: ExportFormat = "parquet",
        mode: WriteMode = "new",
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.target = ExportTarget(directory, format, mode)
        try:
            self._part = PartWriter(
                self.target.staging, format, batch_rows=batch_rows, export=self.target.directory
            )
        except BaseException:
            self.target.abort()
            raise
        self.directory = self.target.directory

    @property
    def runs(self) -> int:
        """Runs added so far."""
        return self._part.runs

    @property
    def rows(self) -> dict[TableName, int]:
        """Rows written so far, per table."""
        return self._part.rows

    def add(self, trace: RunTrace | Mapping[str, Any]) -> None:
        """Add one run (a RunTrace or its JSON)."""
        if self.target.finished:
            raise ConfigError(f"{self.directory}: this export is already closed")
        self._part.add(trace)

    def close(self) -> dict[TableName, int]:
        """Write what is buffered and move the parts into place; rows written per table."""
        if self.target.finished:
            return dict(self.rows)
        try:
            rows = self._part.close()
        except BaseException:
            self.abort()
            raise
        self.target.commit()
        return rows

    def abort(self) -> None:
        """Discard everything this writer wrote; the directory stays as it was."""
        if not self.target.finished:
            self._part.abort()
            self.target.abort()

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


def write_tables(
    traces: Iterable[RunTrace | Mapping[str, Any]],
    directory: str | Path,
    format: ExportFormat = "parquet",
    mode: WriteMode = "new",
) -> dict[TableName, int]:
    """Write runs (RunTraces or their JSON) as the seven tables; rows written per table."""
    with TableWriter(directory, format, mode) as writer:
        for trace in traces:
            writer.add(trace)
    return writer.close()


# ---- one table's part file -----------------------------------------------------------------------


class _Sink:
    """One part file of one table."""

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def close(self, quiet: bool = False) -> None:
        raise NotImplementedError


def _open_sink(staging: Path, table: TableName, part: str, format: ExportFormat) -> _Sink:
    folder = staging / table
    folder.mkdir(exist_ok=True)  # shared by the parts of several writers
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
        try:
            self._file.close()  # writes out what is buffered: fails when the disk is full
        except OSError:
            if not quiet:
                raise


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
