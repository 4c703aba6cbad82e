"""The tables as Apache Arrow: schemas, batches, Parquet and pandas (optional packages).

pyarrow comes with the ``parquet`` extra (``pip install 'otel-bridge[parquet]'``); pandas is
needed only by ``to_dataframes``. Without them, CSV, JSON Lines and ``to_tables`` still work.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from ..errors import ConfigError
from ._columns import COLUMNS, ColumnType, TableName

__all__ = ["arrow_schema", "arrow_table", "parquet", "pyarrow", "to_pandas"]

_TIMESTAMP = ("us", "UTC")


def pyarrow() -> ModuleType:
    """The pyarrow module; ConfigError saying how to install it when it is missing."""
    try:
        import pyarrow as pa
    except ImportError:
        raise ConfigError(
            "Parquet and DataFrames need pyarrow: pip install 'otel-bridge[parquet]'"
        ) from None
    return pa


def parquet() -> ModuleType:
    """The pyarrow.parquet module."""
    pyarrow()
    import pyarrow.parquet as pq

    return pq


def _type(kind: ColumnType) -> Any:
    pa = pyarrow()
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp(*_TIMESTAMP),
    }[kind]


def arrow_schema(table: TableName) -> Any:
    """The Arrow schema of one table."""
    pa = pyarrow()
    return pa.schema([(name, _type(kind)) for name, kind in COLUMNS[table]])


def arrow_table(table: TableName, rows: Sequence[tuple[Any, ...]]) -> Any:
    """Rows (tuples in column order) as an Arrow table of the table's schema."""
    pa = pyarrow()
    columns = COLUMNS[table]
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrays = []
    for (name, kind), column in zip(columns, values, strict=True):
        try:
            arrays.append(_array(column, kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise ConfigError(_wrong_value(table, name, kind, column, rows)) from exc
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


def _array(column: Sequence[Any], kind: ColumnType) -> Any:
    pa = pyarrow()
    if kind == "timestamp":  # ISO-8601 text in the RunTrace JSON: parsed by Arrow, in C
        return pa.array(column, pa.string()).cast(_type(kind))
    return pa.array(column, _type(kind))


_WANTED: dict[ColumnType, str] = {
    "string": "text",
    "int64": "an integer",
    "float64": "a number",
    "bool": "true or false",
    "timestamp": "an ISO-8601 time",
}


def _wrong_value(
    table: TableName,
    name: str,
    kind: ColumnType,
    column: Sequence[Any],
    rows: Sequence[tuple[Any, ...]],
) -> str:
    """Which run gives which value a column cannot hold (every table starts with trace_id)."""
    pa = pyarrow()
    for value, row in zip(column, rows, strict=True):
        try:
            _array([value], kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            shown = repr(value)
            if len(shown) > 60:
                shown = f"{shown[:57]}..."
            return f"{table}.{name} wants {_WANTED[kind]}: the run {row[0]} gives {shown}"
    return f"{table}.{name} wants {_WANTED[kind]}: a run gives a value it cannot hold"


def to_pandas(table: Any) -> Any:
    """An Arrow table as a DataFrame whose integer and boolean columns keep their nulls."""
    import pandas as pd

    pa = pyarrow()
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=nullable.get)
