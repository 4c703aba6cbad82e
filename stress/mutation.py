"""Mutation testing: how many small changes to the code the test suite catches (not in CI).

    python stress/mutation.py tables collector-writer [--write] [--max-children 2]
    python stress/mutation.py derivation conventions --write
    python stress/mutation.py tables --no-run --write   # the last run's results again

mutmut (``pip install mutmut``) changes the code one small edit at a time (an operator, a
constant, a dropped argument, ...) and runs the tests that reach the changed function; a
"mutant" the tests do not fail on has survived. Each target runs in a scratch copy of the
project (mutmut writes its ``mutants/`` there), with the test files that exercise it. The
table gives each module's mutants, killed (a test failed, or the mutant hung until its
timeout), survived and kill rate; ``equivalent_mutants/TARGET.toml`` lists the survivors
that cannot be killed because they change nothing observable, each with the reason, and the
last column counts them as killed. ``--write`` puts the table and the survivors into
docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

from _report import ROOT, machine, write_section

# target -> (files mutated, as glob patterns; the test files that reach them; a pytest -k
# expression leaving out the tests that take many seconds each: whole-process crash rounds,
# SIGTERM, the real adapter runs the Parquet tests start with, and a fresh process loading the
# price database, which are repeated for every mutant; they check the same code paths as the
# ones kept, with real data).
TARGETS: dict[str, tuple[list[str], list[str], str]] = {
    "tables": (
        ["otel_bridge/tables/*"],
        [
            "tests/tables/test_tables.py",
            "tests/tables/test_export_failures.py",
            "tests/tables/test_read_back.py",
        ],
        "every_column or without_labels or hold_every or once_closed or parquet_holds or refusal"
        " or row_groups or optional_packages or smaller_run or share_a_staging"
        " or export_failures or read_back",
    ),
    "collector-writer": (
        ["otel_bridge/collector/_writer.py"],
        ["tests/collector/test_collector_store.py", "tests/collector/test_collector_upkeep.py"],
        "not crash and not sigterm",
    ),
    "derivation": (
        ["otel_bridge/derivation/*"],
        [
            "tests/derivation/test_derive_records.py",
            "tests/derivation/test_derive_values.py",
            "tests/derivation/test_derive_issues.py",
            "tests/derivation/test_cost.py",
            "tests/derivation/test_timings.py",
            "tests/derivation/test_derive_guards.py",
            "tests/derivation/test_derive_rules.py",
            "tests/derivation/test_answer_rules.py",
            "tests/derivation/test_price_rules.py",
            "tests/derivation/test_handoff_rules.py",
            "tests/derivation/test_delegation_rules.py",
            "tests/derivation/test_robust_json.py",
            "tests/derivation/test_run_task_and_answer.py",
            "tests/derivation/test_tool_result_names.py",
            "tests/derivation/test_handoff_records.py",
            "tests/derivation/test_delegation_shapes.py",
            "tests/derivation/test_request_prices.py",
            "tests/conventions/test_message_parts.py",
            "tests/conventions/test_labels.py",
            "tests/conventions/test_conventions_genai.py",
            "tests/frameworks/test_smolagents_derive.py",
            "tests/frameworks/test_openai_agents_recorded.py",
            "tests/frameworks/test_langgraph_derive.py",
            "tests/derivation/test_handoff_acceptance.py",
            "tests/derivation/test_message_history.py",
            "tests/derivation/test_node_transfers.py",
            "tests/derivation/test_agent_lookups.py",
            "tests/derivation/test_model_call_records.py",
            "tests/derivation/test_tool_call_ids.py",
        ],
        "not loads_the_price_database",
    ),
    "conventions": (
        ["otel_bridge/conventions/*"],
        [
            "tests/conventions/test_conventions_genai.py",
            "tests/derivation/test_derive_records.py",
            "tests/derivation/test_derive_values.py",
            "tests/derivation/test_robust_json.py",
            "tests/derivation/test_robust_depth.py",
            "tests/conventions/test_labels.py",
            "tests/conventions/test_message_parts.py",
            "tests/conventions/test_tool_span_conventions.py",
            "tests/conventions/test_tool_call_keys.py",
        ],
        "",
    ),
}

# Survivors that change nothing a caller can observe, by mutant name, with the reason: one
# TOML file per target in stress/equivalent_mutants/ ("module.x_function__mutmut_3" = "why").
EQUIVALENT: dict[str, str] = {
    name: reason
    for path in sorted((Path(__file__).parent / "equivalent_mutants").glob("*.toml"))
    for name, reason in tomllib.loads(path.read_text(encoding="utf-8")).items()
}

KILLED = {"killed", "timeout"}  # a mutant that hangs is caught (by its timeout)
_MODULE = re.compile(r"(.+?)\.x(?:_|ǁ)")  # module.x_function__mutmut_3, module.xǁClassǁmethod...
_RESULT = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")


def scratch_copy(target: str, mutate: list[str], tests: list[str], select: str) -> Path:
    """The project copied where mutmut may write, configured for one target."""
    work = scratch_dir(target)
    shutil.rmtree(work, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "node_modules", "browser", "*.db*")
    shutil.copytree(ROOT / "otel_bridge", work / "otel_bridge", ignore=skip)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=skip)
    pytest_args = ["-p", "no:cacheprovider", "-q", *(["-k", select] if select else [])]
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["otel_bridge"]\n'
        f"only_mutate = {mutate!r}\n"
        f"pytest_add_cli_args_test_selection = {tests!r}\n"
        f"pytest_add_cli_args = {pytest_args!r}\n"
    ).replace("'", '"')
    (work / "pyproject.toml").write_text(config, encoding="utf-8")
    return work


def scratch_dir(target: str) -> Path:
    """Where a target's copy of the project and its mutants are."""
    return Path(tempfile.gettempdir()) / f"otel-bridge-mutation-{target}"


def mutmut(work: Path, *args: str) -> str:
    """Run mutmut in a scratch copy (the copy on the path, not the working tree); its output."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def results_of(target: str) -> tuple[dict[str, Counter[str]], list[str]]:
    """Per module, mutants by status, and the survivors' names, of a target's last run."""
    by_module: dict[str, Counter[str]] = {}
    survivors = []
    for line in mutmut(scratch_dir(target), "results", "--all", "true").splitlines():
        found = _RESULT.match(line)
        if found is None:
            continue
        name, status = found["name"], found["status"]
        module = _MODULE.match(name)[1]  # type: ignore[index]
        by_module.setdefault(module, Counter())[status] += 1
        if status not in KILLED and status != "not checked":
            survivors.append(name)
    return by_module, survivors


def table(results: dict[str, Counter[str]]) -> str:
    """The kill rates, one row per module and a total."""
    lines = [
        "| module | mutants | killed | survived | equivalent | kill rate | with equivalents "
        "| not run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for module, counts in sorted(results.items()):
        row = _row(counts)
        total.update(row)
        lines.append(_line(f"`{module}`", row))
    lines.append(_line("**all**", total))
    return "\n".join(lines)


def _row(counts: Counter[str]) -> Counter[str]:
    row: Counter[str] = Counter()
    row["not run"] = counts["not checked"]  # a run stopped before it reached them
    row["mutants"] = sum(
        n for status, n in counts.items() if status not in ("equivalent", "not checked")
    )
    row["killed"] = sum(n for status, n in counts.items() if status in KILLED)
    row["survived"] = row["mutants"] - row["killed"]
    row["equivalent"] = counts["equivalent"]
    return row


def _line(label: str, row: Counter[str]) -> str:
    mutants, killed, eq = row["mutants"], row["killed"], row["equivalent"]
    rate = f"{killed / mutants:.1%}" if mutants else "-"
    with_eq = f"{(killed + eq) / mutants:.1%}" if mutants else "-"
    return (
        f"| {label} | {mutants:,} | {killed:,} | {row['survived'] - eq:,} | {eq:,} | {rate} "
        f"| {with_eq} | {row['not run']:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", choices=sorted(TARGETS), default=sorted(TARGETS))
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--write", action="store_true", help="write into docs/RELIABILITY.md")
    parser.add_argument(
        "--no-run",
        action="store_true",
        help="report the last run's results (kept in a scratch copy)",
    )
    args = parser.parse_args()

    results: dict[str, Counter[str]] = {}
    survivors: list[str] = []
    for target in args.targets:
        if not args.no_run:
            scratch_copy(target, *TARGETS[target])
            started = time.perf_counter()
            mutmut(scratch_dir(target), "run", "--max-children", str(args.max_children))
            print(f"{target}: {time.perf_counter() - started:.0f} s")
        by_module, left = results_of(target)
        for name in left:
            if name in EQUIVALENT:
                by_module[_MODULE.match(name)[1]]["equivalent"] += 1  # type: ignore[index]
        results.update(by_module)
        survivors += left
    body = table(results)
    alive = [n for n in survivors if n not in EQUIVALENT]
    equivalent = [f"- `{n}`: {EQUIVALENT[n]}" for n in survivors if n in EQUIVALENT]
    text = (
        f"{body}\n\nTargets: {', '.join(args.targets)}; {machine()}.\n"
        + ("\nEquivalent survivors:\n\n" + "\n".join(equivalent) + "\n" if equivalent else "")
        + ("\nSurvivors still to kill:\n\n" + "\n".join(f"- `{n}`" for n in alive) + "\n")
        * bool(alive)
    )
    print(text)
    if args.write:
        write_section("mutation", text)


if __name__ == "__main__":
    main()
