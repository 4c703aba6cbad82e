"""Comparing runs: ``diff_runs`` of two 10,000-span runs, ``compare`` of two sets of 10,000 runs.

Run: ``python benchmarks/bench_diff.py [--repeat N] [--write]``. With ``--write`` the tables
replace the "diff" section of benchmarks/README.md. Targets: a diff of two 10,000-span runs
under 1 s; a compare of 2 x 10,000 runs under 5 s.

Diff: run A is the synthetic multi-agent trace of ``bench_derive.py`` (10,000 spans: 1,249 LLM
calls and tool calls, 124 handoffs), derived once. Run B is A's JSON with changes: none; a
few (one tool's arguments changed, a step inserted, one removed, one call's model changed);
or many (every 10th tool call's arguments changed, so that no long equal head or tail is
left to skip). The clock measures ``diff_runs(a, b).to_dict()``, the terminal summary and
``to_html()`` separately.

Compare: two export directories (Parquet, 10,000 runs each, one per MASEval task, with an
evaluation score); B's figures differ from A's by seeded random amounts. The clock measures
what ``otel-bridge compare A B --json -o page.html --no-diffs`` does in process (read both
runs tables, match, bootstrap, JSON, page), and the command as a whole in a new process.
"""

from __future__ import annotations

import argparse
import copy
import gc
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_derive import synthetic_trace
from results import write_section
from rich.console import Console

from otel_bridge import derive, diff_runs
from otel_bridge.compare import compare_sets, render_diff, sets_html
from otel_bridge.tables import read_export, write_tables

SPANS = 10_000
RUNS = 10_000


def cpu_timed(repeat: int, work: Any) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` calls of ``work()`` (after one warm-up); CPU
    time counts this process and the children it waited for (a loaded machine stretches the
    wall time, not the CPU time)."""
    work()
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        start, cpu = time.perf_counter(), _cpu()
        work()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def changed(run: dict[str, Any], how: str) -> dict[str, Any]:
    """Run B: run A's JSON with ``how`` many changes."""
    b = copy.deepcopy(run)
    tools, llm = b["tool_calls"], b["llm_calls"]
    if how == "few":
        tools[300]["arguments"] = {"query": "another topic"}
        llm[700]["model"] = "gpt-4o"
        del tools[900]
        inserted = dict(tools[500], span_id="feedbeeffeedbeef", name="word_count")
        tools.insert(501, inserted)
    elif how == "many":
        for i in range(0, len(tools), 10):
            tools[i]["arguments"] = {"query": f"changed {i}"}
    return b


def bench_diff(repeat: int) -> list[dict[str, Any]]:
    a = derive(synthetic_trace(SPANS)).to_dict()
    rows = []
    for how in ("none", "few", "many"):
        b = changed(a, how)
        diff = diff_runs(a, b)
        counts = diff.counts()
        console = Console(file=io.StringIO(), width=80)
        rows.append(
            {
                "changes": how,
                "steps": len(diff.steps),
                "not_equal": len(diff.steps) - counts["equal"],
                "to_dict": cpu_timed(repeat, lambda b=b: diff_runs(a, b).to_dict()),
                "terminal": cpu_timed(
                    repeat, lambda b=b, console=console: render_diff(diff_runs(a, b), console)
                ),
                "html": cpu_timed(repeat, lambda b=b: diff_runs(a, b).to_html()),
            }
        )
    return rows


def synthetic_runs(seed: int, template: dict[str, Any]) -> list[dict[str, Any]]:
    """``RUNS`` runs, one per task: the template with seeded figures and a score."""
    rng = random.Random(seed)
    runs = []
    for n in range(RUNS):
        run = dict(template)
        tokens = rng.randint(1_000, 5_000)
        run["trace_id"] = f"{seed:08x}{n:024x}"
        run["labels"] = {"session_id": "bench", "task_id": f"task-{n:05d}", "repetition": 0}
        run["usage"] = dict(template["usage"], total_tokens=tokens, input_tokens=tokens - 100)
        run["cost"] = {"total_usd": tokens * 2e-7, "input_usd": None, "output_usd": None,
                       "complete": True}  # fmt: skip
        run["timings"] = dict(template["timings"], wall_s=rng.uniform(1, 10))
        score = rng.choice((0.0, 0.5, 1.0))
        run["evaluation"] = {"status": "success", "passed": score == 1.0, "score": score,
                             "evaluators": [{"score": score}]}  # fmt: skip
        runs.append(run)
    return runs


def bench_compare(repeat: int, work_dir: Path) -> dict[str, Any]:
    template = derive(synthetic_trace(40)).to_dict()
    template = {**template, "messages": [], "llm_calls": [], "tool_calls": [], "handoffs": []}
    for name, seed in (("a", 1), ("b", 2)):
        write_tables(synthetic_runs(seed, template), work_dir / name, format="parquet")
    page = work_dir / "compare.html"

    def in_process() -> None:
        a = read_export(work_dir / "a", ("runs",))["runs"]
        b = read_export(work_dir / "b", ("runs",))["runs"]
        result = compare_sets(a, b)
        json.dumps(result.to_dict())
        page.write_text(sets_html(result, ("a", "b")), encoding="utf-8")

    command = [sys.executable, "-m", "otel_bridge.cli", "compare", str(work_dir / "a"),
               str(work_dir / "b"), "--json", "-o", str(page), "--no-diffs"]  # fmt: skip

    def whole() -> None:
        subprocess.run(command, check=True, capture_output=True)

    in_process_s, in_process_cpu = cpu_timed(repeat, in_process)
    command_s, command_cpu = cpu_timed(max(1, repeat // 2), whole)
    return {
        "runs": RUNS,
        "in_process_s": in_process_s,
        "in_process_cpu": in_process_cpu,
        "command_s": command_s,
        "command_cpu": command_cpu,
        "page_mb": page.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    diffs = bench_diff(args.repeat)
    with tempfile.TemporaryDirectory() as work:
        compared = bench_compare(args.repeat, Path(work))
    lines = [
        "| run B vs A (10,000 spans) | aligned steps | not equal | `to_dict()`: wall / CPU | "
        "terminal: wall / CPU | `to_html()`: wall / CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0] * 1000:,.0f} / {pair[1] * 1000:,.0f} ms"

    for r in diffs:
        lines.append(
            f"| {r['changes']} changed | {r['steps']:,} | {r['not_equal']:,} | "
            f"{ms(r['to_dict'])} | {ms(r['terminal'])} | {ms(r['html'])} |"
        )
    lines += [
        "",
        "| compare | runs per set | in process (read, match, bootstrap, JSON, page): "
        "wall / CPU | `otel-bridge compare --json -o --no-diffs`: wall / CPU | page |",
        "|---|---:|---:|---:|---:|",
        f"| two Parquet exports | {compared['runs']:,} | {compared['in_process_s']:.2f} s / "
        f"{compared['in_process_cpu']:.2f} s | {compared['command_s']:.2f} s / "
        f"{compared['command_cpu']:.2f} s | {compared['page_mb']:.1f} MB |",
        "",
        f"Load average (1 minute) before -> after: {load_before:.1f} -> "
        f"{os.getloadavg()[0]:.1f} on 2 cores.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section("diff", table)


if __name__ == "__main__":
    main()
