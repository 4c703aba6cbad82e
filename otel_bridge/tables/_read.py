"""An export directory read back: its tables as rows (column -> value), whatever the format.

Times come back as ISO-8601 text (as in the RunTrace JSON), nulls as None, in every format.
A directory that is not an export, or that lacks a table, is a ``SourceError`` naming it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import SourceError
from ._arrow import parquet
from ._columns import COLUMNS, TABLES, ColumnType, TableName
from ._export_dir import FORMATS, MANIFEST

__all__ = ["is_export", "read_export"]


def is_export(path: str | Path) -> bool:
    """True when ``path`` is a directory holding an otel-bridge export (its manifest)."""
    return (Path(path) / MANIFEST).is_file()


def read_export(
    directory: str | Path,
    tables: Sequence[TableName] = TABLES,
    columns: Sequence[str] | None = None,
) -> dict[TableName, list[dict[str, Any]]]:
    """The rows of ``tables`` in an export directory (every part file of each); ``columns``:
    only these (Parquet reads nothing else; the other formats drop the rest)."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{directory}: not an otel-bridge export (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"{directory}: unreadable {MANIFEST}: {exc}") from exc
    format = manifest.get("format") if isinstance(manifest, dict) else None
    if format not in FORMATS:
        raise SourceError(f"{directory}: {MANIFEST} names no known format ({format!r})")
    missing = [t for t in TABLES if not (directory / t).is_dir()]
    if missing:
        raise SourceError(f"{directory}: the export has no {', '.join(missing)} table")
    found: dict[TableName, list[dict[str, Any]]] = {}
    for table in tables:
        parts = sorted(
            p
            for p in (directory / table).iterdir()
            if p.suffix == f".{format}" and not p.name.startswith(".")
        )
        rows: list[dict[str, Any]] = []
        for part in parts:
            try:
                rows.extend(_read_part(part, format, table, columns))
            except (OSError, ValueError, csv.Error) as exc:
                raise SourceError(f"{part}: unreadable {format} part: {exc}") from exc
        found[table] = rows
    return found


def _read_part(
    path: Path, format: str, table: TableName, columns: Sequence[str] | None
) -> Iterator[dict[str, Any]]:
    kinds = dict(COLUMNS[table])
    wanted = None if columns is None else set(columns)
    if format == "parquet":
        pq = parquet()
        # Columns an older schema does not have read as null (e.g. the evaluation's).
        present = None if columns is None else set(pq.read_schema(path).names)
        chosen = None if columns is None else [c for c in columns if c in (present or ())]
        data = pq.read_table(path, columns=chosen)
        times = [n for n in data.column_names if kinds.get(n) == "timestamp"]
        absent = [] if columns is None else [c for c in columns if c not in (present or ())]
        for row in data.to_pylist():
            for name in times:
                if row[name] is not None:
                    row[name] = _iso(row[name])
            for name in absent:
                row[name] = None
            yield row
    elif format == "jsonl":
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    yield row if wanted is None else {k: row.get(k) for k in wanted}
    else:
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                yield {
                    k: _typed(v, kinds.get(k, "string"))
                    for k, v in row.items()
                    if wanted is None or k in wanted
                }


def _iso(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _typed(text: str | None, kind: ColumnType) -> Any:
    """A CSV field as its column's type (an empty field is null)."""
    if text is None or text == "":
        return None
    if kind == "int64":
        return int(text)
    if kind == "float64":
        return float(text)
    if kind == "bool":
        return text == "true"
    return text
