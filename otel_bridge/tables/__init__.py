"""RunTraces as tables: runs, agents, llm_calls, tool_calls, messages, handoffs.

``to_tables`` gives rows (plain dicts), ``to_dataframes`` pandas DataFrames, and
``TableWriter`` / ``write_tables`` write Parquet, CSV or JSON Lines part files that many
writers can add to one directory; ``read_export`` reads such a directory back. The columns
are listed in ``_columns`` (``COLUMNS``) and in the README; they read the RunTrace JSON
(``RunTrace.to_dict()``), so runs can be given as RunTraces or as that JSON (e.g. read back
from ``otel-bridge derive --json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from ..run_trace import RunTrace
from ._arrow import arrow_table, to_pandas
from ._columns import COLUMNS, LABELS, SCHEMA_VERSION, TABLES, ColumnType, TableName
from ._export_dir import FORMATS, MANIFEST, ExportFormat, ExportTarget, WriteMode
from ._read import is_export, read_export
from ._rows import rows_of
from ._writer import PartWriter, TableWriter, write_tables

__all__ = [
    "COLUMNS",
    "FORMATS",
    "LABELS",
    "MANIFEST",
    "SCHEMA_VERSION",
    "TABLES",
    "ColumnType",
    "ExportFormat",
    "ExportTarget",
    "PartWriter",
    "TableName",
    "TableWriter",
    "WriteMode",
    "is_export",
    "read_export",
    "to_dataframes",
    "to_tables",
    "write_tables",
]

Run = RunTrace | Mapping[str, Any]


def to_tables(traces: Iterable[Run]) -> dict[TableName, list[dict[str, Any]]]:
    """The seven tables of these runs as lists of rows (column -> value; times as ISO-8601)."""
    tables: dict[TableName, list[dict[str, Any]]] = {name: [] for name in TABLES}
    names = {table: [name for name, _ in COLUMNS[table]] for table in TABLES}
    for trace in traces:
        for table, rows in rows_of(trace).items():
            tables[table].extend(dict(zip(names[table], row, strict=True)) for row in rows)
    return tables


def to_dataframes(traces: Iterable[Run]) -> dict[TableName, Any]:
    """The seven tables as pandas DataFrames with the documented column types (needs pyarrow)."""
    buffers: dict[TableName, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    for trace in traces:
        for table, rows in rows_of(trace).items():
            buffers[table].extend(rows)
    try:
        import pandas  # noqa: F401  (to_pandas needs it; say so before converting)
    except ImportError:
        raise ConfigError("to_dataframes needs pandas: pip install pandas") from None
    return {table: to_pandas(arrow_table(table, rows)) for table, rows in buffers.items()}
