"""Writes a benchmark's results table into its section of benchmarks/README.md (or of another
document: the stress commands write into docs/RELIABILITY.md), and names the code measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

README = Path(__file__).with_name("README.md")


def write_section(name: str, body: str, document: Path = README, title: str = "Benchmarks") -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = document.read_text() if document.exists() else f"# {title}\n"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += f"\n{block}\n"
    document.write_text(text)


def commit_of(checkout: Path) -> str:
    """The checkout's commit and its date, e.g. ``bd0174f of 2026-12-01``."""
    done = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h of %as"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or str(checkout)
