"""Shared by the stress commands: running a generated target, the machine line, and writing a
table into docs/RELIABILITY.md."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
RELIABILITY = ROOT / "docs" / "RELIABILITY.md"
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the collector fixtures, fuzz strategies
# The tests whose checks the long runs repeat (the property checks, the isolation runs).
sys.path.insert(0, str(ROOT / "tests" / "derivation"))
sys.path.insert(0, str(ROOT / "tests" / "telemetry"))
sys.path.insert(0, str(ROOT / "benchmarks"))  # how a results table is written into a document

from results import write_section as write_into  # noqa: E402


def run_target(
    strategy: st.SearchStrategy[Any], check: Callable[[Any], str], inputs: int, rng_seed: int
) -> tuple[Counter[str], float]:
    """Feed ``inputs`` generated values to ``check``; its outcomes counted, and the time."""
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=inputs,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(rng_seed)
    @given(strategy)
    def target(value: Any) -> None:
        outcomes[check(value)] += 1

    started = time.perf_counter()
    target()
    return outcomes, time.perf_counter() - started


def machine() -> str:
    """One line: cores, Python, OS, date."""
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {date.today().isoformat()}"
    )


def write_section(name: str, body: str) -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    write_into(name, body, RELIABILITY, "Reliability")


def vm_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (``VmRSS``, ``VmHWM``: peak RSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)
