"""Long run of derive()'s properties over generated span sets; figures for RELIABILITY.md.

Run: ``python stress/derive_properties.py`` (10,000 span sets of one trace, 2,000 of several,
1,000 units for the work ratio; about 6 minutes on 2 cores; ``--inputs N`` scales them all,
``--write`` puts the table into docs/RELIABILITY.md).

The properties and strategies are those of ``tests/derivation/test_robust_properties.py`` (the suite
runs a derandomized few; this explores at random): spans with any attribute value (the names the
readers look at, with text holding lone surrogates, numerals, JSON good, malformed and 3,000
levels deep, integers beyond 64 bits, NaN, arrays) in trees with cycles, orphans, duplicate
ids and children that start before their parents.

- one trace: derive() and derive_all() raise nothing; no negative token count or duration;
  the RunTrace's JSON is valid;
- several traces: derive() raises ``TraceSelectionError`` and nothing else;
- work: a generated unit of spans repeated 4x as often (each copy nested in the one before)
  costs at most 6x the Python lines executed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from _report import machine, run_target, write_section
from test_robust_properties import Unit, check_run, span_sets, units, work_ratio

from otel_bridge import derive, derive_all
from otel_bridge.errors import TraceSelectionError
from otel_bridge.spans import SpanRecord

LINEAR = 6.0


def failure(value: Any, exc: BaseException) -> str:
    print(f"FAILURE {type(exc).__name__}: {exc!r:.300} on {value!r:.300}", file=sys.stderr)
    return f"failure: {type(exc).__name__}"


def one_trace(spans: list[SpanRecord]) -> str:
    try:
        trace = derive(spans)
        check_run(trace)
        for run in derive_all(spans):
            check_run(run)
    except Exception as exc:
        return failure(spans, exc)
    flags = [f for f in ("coerced_values", "rejected_values") if f in trace.issues]
    return " + ".join(flags) if flags else "no value flag"


def several_traces(spans: list[SpanRecord]) -> str:
    many = len({s.trace_id for s in spans}) > 1
    try:
        derive(spans)
    except TraceSelectionError:
        return "TraceSelectionError" if many else failure(spans, RuntimeError("one trace"))
    except Exception as exc:
        return failure(spans, exc)
    return "derived (one trace drawn)" if not many else failure(spans, RuntimeError("derived"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="span sets of one trace")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="update docs/RELIABILITY.md")
    args = parser.parse_args()

    rows: list[tuple[str, int, str, int, float]] = []
    for name, strategy, check, inputs in [
        ("one trace, up to 30 spans", span_sets(max_spans=30), one_trace, args.inputs),
        (
            "several traces, up to 30 spans",
            span_sets(max_spans=30, traces=3),
            several_traces,
            args.inputs // 5,
        ),
    ]:
        outcomes, seconds = run_target(strategy, check, inputs, args.seed)
        failures = sum(n for k, n in outcomes.items() if k.startswith("failure"))
        answers = ", ".join(f"{k} {n:,}" for k, n in sorted(outcomes.items()) if ":" not in k)
        rows.append((name, sum(outcomes.values()), answers, failures, seconds))
        print(f"{name}: {dict(outcomes)} in {seconds:.0f} s")

    ratios: list[float] = []

    def ratio(unit: Unit) -> str:
        try:
            ratios.append(work_ratio(unit))
        except Exception as exc:
            return failure(unit, exc)
        return "linear" if ratios[-1] < LINEAR else failure(unit, RuntimeError(ratios[-1]))

    outcomes, seconds = run_target(units(), ratio, args.inputs // 10, args.seed)
    failures = sum(n for k, n in outcomes.items() if k.startswith("failure"))
    summary = (
        f"work for 4x the spans: median {statistics.median(ratios):.2f}x, "
        f"max {max(ratios):.2f}x (bound {LINEAR:.0f}x)"
    )
    rows.append(("units of 1-6 spans, 40 vs 160 copies", len(ratios), summary, failures, seconds))
    print(summary)

    table = render(rows, args)
    print(table)
    if args.write:
        write_section("derive-properties", table)
    sys.exit(1 if any(row[3] for row in rows) else 0)


def render(rows: list[tuple[str, int, str, int, float]], args: Any) -> str:
    lines = [
        f"`python stress/derive_properties.py --inputs {args.inputs}` ({machine()})",
        "",
        "| generated | inputs | outcomes | failures | time |",
        "|---|---:|---|---:|---:|",
    ]
    for name, inputs, outcomes, failures, seconds in rows:
        lines.append(f"| {name} | {inputs:,} | {outcomes} | {failures} | {seconds:.0f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
