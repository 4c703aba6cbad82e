"""Shared by the stress commands: the machine line, and writing a table into docs/RELIABILITY.md."""

from __future__ import annotations

import os
import platform
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELIABILITY = ROOT / "docs" / "RELIABILITY.md"
sys.path.insert(0, str(ROOT / "tests"))  # the collector fixtures and fuzz strategies


def machine() -> str:
    """One line: cores, Python, OS, date."""
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {date.today().isoformat()}"
    )


def write_section(name: str, body: str) -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = RELIABILITY.read_text() if RELIABILITY.exists() else "# Reliability\n"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += f"\n{block}\n"
    RELIABILITY.write_text(text)


def vm_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (``VmRSS``, ``VmHWM``: peak RSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)
